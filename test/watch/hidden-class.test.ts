// Objects of one shape must share one V8 hidden class: built with object spread, every
// trimmed API object had its own (~280 bytes of map and descriptors per pod, ~14 MB at
// 50 000 pods; docs/performance.md "Agent memory"). Checked with V8's %HaveSameMap in a child
// process (the intrinsic needs --allow-natives-syntax).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const probe = join(here, 'hidden-class-probe.ts');

test('200 trimmed pods, policies and namespaces of one shape share one hidden class per part', () => {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', probe], { encoding: 'utf8', cwd: join(here, '..', '..') });
  const maps = JSON.parse(out) as Record<string, Record<string, number>>;
  for (const [what, counts] of Object.entries(maps)) {
    for (const [part, n] of Object.entries(counts)) assert.equal(n, 1, `${what}: ${n} hidden classes for ${part}`);
  }
});
