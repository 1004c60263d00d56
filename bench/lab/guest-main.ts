// Guest side of the lab benchmarks (runs as root in the lab VM; bench/lab/run-lab.ts boots
// it): item 3 (apply path) and item 4 (end to end), results as JSON in --out.
//   node <build>/bench/lab/guest-main.js --out DIR [--repeat-one N] [--repeat-all N]
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyPath, type ApplyPathResult } from './apply-path.js';
import { endToEnd, type EndToEndResult } from './end-to-end.js';

export interface LabResults {
  readonly kernel: string;
  readonly applyPath?: ApplyPathResult;
  readonly endToEnd: EndToEndResult[];
  readonly errors: string[];
  readonly netlink: boolean;
  readonly guestMs: number;
}

const { values } = parseArgs({ options: { out: { type: 'string' }, 'repeat-one': { type: 'string', default: '3' }, 'repeat-all': { type: 'string', default: '1' } } });
const out = values.out!;
await mkdir(out, { recursive: true });
const t0 = Date.now();
const say = (s: string): void => void process.stdout.write(`[lab +${((Date.now() - t0) / 1000).toFixed(0)} s] ${s}\n`);
const netlink = existsSync(join(dirname(fileURLToPath(import.meta.url)), '../../drivers/tc-netlink/index.js'));
const results: LabResults = { kernel: '', endToEnd: [], errors: [], netlink, guestMs: 0 };
const { release } = await import('node:os');
(results as { kernel: string }).kernel = release();
const save = (): Promise<void> => writeFile(join(out, 'lab-results.json'), JSON.stringify({ ...results, guestMs: Date.now() - t0 }));

try {
  (results as { applyPath?: ApplyPathResult }).applyPath = await applyPath(undefined, 3, say);
} catch (e) {
  results.errors.push(`apply path: ${(e as Error).stack ?? String(e)}`);
  say(`apply path FAILED: ${(e as Error).message}`);
}
await save();
for (const driver of netlink ? ['cmdline', 'netlink'] : ['cmdline']) {
  try {
    results.endToEnd.push(await endToEnd(driver, { one: Number(values['repeat-one']), all: Number(values['repeat-all']) }, say));
  } catch (e) {
    results.errors.push(`end to end (${driver}): ${(e as Error).stack ?? String(e)}`);
    say(`end to end (${driver}) FAILED: ${(e as Error).message}`);
  }
  await save();
}
say('done');
