// Round trip through a real kernel: the layout program (test/golden/tc-batch/layout-program.txt,
// a copy of the documented program) was installed in the lab VM and read back with `tc -j`
// (test/golden/tc-json/). Reading it back must give exactly the filters we would build for
// its lines, which is what makes diff's "nothing to do" possible.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Hook, TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { parseFilters } from '../../../drivers/tc-cmdline/parse.js';
import { goldenBatch, lineToFilter, mirrorLine, readJson } from './fixtures/tc-line.js';

const program = goldenBatch('layout-program.txt').filter((l) => l.startsWith('filter '));

function read(file: string, hook: Hook): TcFilter[] {
  const r = parseFilters(readJson(`../../../golden/tc-json/${file}`), hook, 'lay0');
  assert.ok(r.ok);
  assert.equal(r.value.foreign, 0);
  return [...r.value.owned];
}

/** Sorted filter keys (identity + actions): equal lists mean diff has nothing to do. */
const keys = (fs: readonly TcFilter[]): string[] => fs.map(filterKey).sort();

/** Handles as the kernel assigned them: 1, 2, 3... per chain/pref in the order of the lines. */
function expectedHandles(lines: readonly TcFilter[]): Map<string, number> {
  const seen = new Map<string, number>();
  const out = new Map<string, number>();
  for (const f of lines) {
    const place = `${f.hook}/${f.chain}/${f.pref}`;
    const h = (seen.get(place) ?? 0) + 1;
    seen.set(place, h);
    out.set(filterKey(f), h);
  }
  return out;
}

function roundTrip(lines: readonly string[], file: string, hook: Hook): void {
  const built = lines.map(lineToFilter).filter((f) => f.hook === hook);
  const observed = read(file, hook);
  assert.equal(observed.length, built.length);
  assert.deepEqual(keys(observed), keys(built));
  // beyond the keys: the whole object, with the handle the kernel gave each line
  const handles = expectedHandles(built);
  for (const o of observed) {
    const want = built.find((b) => filterKey(b) === filterKey(o))!;
    assert.deepEqual(o, { ...want, handle: handles.get(filterKey(want)), inHw: false });
  }
}

test('round trip: every ingress-hook line of the layout program reads back from the kernel as the filter it builds', () => {
  roundTrip(program, 'filters-ingress.json', 'ingress');
});

test('round trip: every egress-hook line (open hook, ct commit) reads back as the filter it builds', () => {
  roundTrip(program, 'filters-egress.json', 'egress');
});

test('round trip: the mirrored program (pod ingress isolated on the egress hook, src_ip keys) reads back as built', () => {
  roundTrip(program.map(mirrorLine), 'filters-egress-isolated.json', 'egress');
});
