// Loaded into the agent by agent-rss.ts (`node --expose-gc --import <this>`): on SIGUSR2 it
// collects garbage twice and writes the live heap to $MNP_HEAP_PROBE_OUT. RSS alone varies by
// tens of MB with GC timing (how much dead heap V8 still holds); the live heap does not.
import { writeFileSync } from 'node:fs';

const out = process.env['MNP_HEAP_PROBE_OUT'];
if (out) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const u = process.memoryUsage();
    writeFileSync(out, JSON.stringify({ heapUsedMB: u.heapUsed / 1048576, heapTotalMB: u.heapTotal / 1048576, rssMB: u.rss / 1048576 }));
  });
}
