// Loaded into the agent by agent-rss.ts (`node --expose-gc --import <this>`): on SIGUSR2 it
// collects garbage twice and writes the live heap to $MNP_HEAP_PROBE_OUT, with the RSS right
// then and again once V8 has given the freed pages back (it unmaps them on a background
// thread, over a second or two). RSS alone varies by tens of MB with GC timing (how much dead
// heap V8 still holds); the live heap does not.
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env['MNP_HEAP_PROBE_OUT'];
const SETTLE_MS = 3000;

const rssMB = (): number => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

if (out) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const u = process.memoryUsage();
    const at = { heapUsedMB: u.heapUsed / 1048576, heapTotalMB: u.heapTotal / 1048576, rssMB: u.rss / 1048576 };
    setTimeout(() => writeFileSync(out, JSON.stringify({ ...at, settledRssMB: rssMB() })), SETTLE_MS);
  });
}
