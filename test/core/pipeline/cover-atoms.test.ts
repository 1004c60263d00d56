// coverAtoms: the two-level address layout (holes and allows first, then one allow per
// block) must say exactly what the disjoint atoms say, and never cost more.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { contains, formatNet, hostNet, overlaps, parseCidr, subtract, type Net } from '../../../core/model/cidr.js';
import type { PortSpec } from '../../../core/model/rules.js';
import { coverAtoms, partition, type CoverLayout, type Entry } from '../../../core/pipeline/partition.js';
import { portMatchCount, portSetIncludes, portSetKey, portSetMinus, portSetOf, unionPortSets, type PortSet } from '../../../core/pipeline/port-set.js';

const net = (s: string): Net => parseCidr(s)!;
const tcp = (p: number, q = p): PortSpec => ({ protocol: 'TCP', start: p, end: q });
const entries = (block: string, holes: string[], ports: 'all' | PortSpec[]): Entry[] => subtract(net(block), holes.map(net)).map((n) => ({ net: n, ports: portSetOf(ports) }));
const show = (l: CoverLayout): string[] => [
  ...l.covers.map((e) => `cover ${formatNet(e.net)} ${portSetKey(e.ports)}`),
  ...l.holes.map((h) => `hole ${formatNet(h)}`),
  ...l.first.map((e) => `first ${formatNet(e.net)} ${portSetKey(e.ports)}`),
  ...l.narrowed.map((e) => `narrowed ${formatNet(e.net)} ${portSetKey(e.ports)}`),
];

/** What an address is allowed under a layout: nothing in a hole, else its first-level and cover port sets. */
function allowedBy(l: CoverLayout, addr: Net): PortSet | null {
  if (l.holes.some((h) => contains(h, addr))) return null;
  const sets = [...l.first, ...l.narrowed, ...l.covers].filter((e) => contains(e.net, addr)).map((e) => e.ports);
  return sets.length === 0 ? null : sets.reduce(unionPortSets);
}
const allowedByAtoms = (atoms: readonly Entry[], addr: Net): PortSet | null => atoms.find((a) => contains(a.net, addr))?.ports ?? null;

test('the upstream worked example: the /16 is one cover, the /24 except its only hole', () => {
  const atoms = partition(4, entries('10.17.0.0/16', ['10.17.0.0/24'], [tcp(6666)]));
  assert.equal(atoms.length, 8);
  const l = coverAtoms(atoms, portMatchCount);
  assert.deepEqual(show(l), ['cover 10.17.0.0/16 TCP:6666', 'hole 10.17.0.0/24']);
  assert.equal(l.cost, 2);
});

test('atoms that allow more than the cover keep, at the first level inside it, only what the cover does not allow', () => {
  // 10.0.0.0/24 on 80 except .0/28 (4 atoms); 10.0.0.128/26 also on 443: 6 filters as atoms, 3 so
  const atoms = partition(4, [...entries('10.0.0.0/24', ['10.0.0.0/28'], [tcp(80)]), { net: net('10.0.0.128/26'), ports: portSetOf([tcp(443)]) }]);
  const l = coverAtoms(atoms, portMatchCount);
  assert.deepEqual(show(l), ['cover 10.0.0.0/24 TCP:80', 'hole 10.0.0.0/28', 'narrowed 10.0.0.128/26 TCP:443']);
  assert.equal(l.cost, 3);
  // what cannot be narrowed stays whole: 'all' minus TCP 80 is no port set
  const all = coverAtoms(partition(4, [...entries('10.0.0.0/24', ['10.0.0.0/28'], [tcp(80)]), { net: net('10.0.0.128/26'), ports: portSetOf('all') }]), portMatchCount);
  assert.deepEqual(show(all), ['cover 10.0.0.0/24 TCP:80', 'hole 10.0.0.0/28', 'first 10.0.0.128/26 all']);
});

test('no cover where it cannot save: scattered hosts, a single atom, different port sets', () => {
  const scattered = partition(4, ['10.0.0.1/32', '10.0.0.66/32', '10.0.0.131/32'].map((c) => ({ net: net(c), ports: portSetOf([tcp(80), tcp(443)]) })));
  assert.deepEqual(coverAtoms(scattered, portMatchCount).covers, []);
  assert.deepEqual(coverAtoms(partition(4, entries('10.0.0.0/24', [], 'all')), portMatchCount).covers, []);
  // a tie (two atoms, or one cover and one hole) stays as atoms
  assert.deepEqual(coverAtoms(partition(4, entries('10.0.0.0/25', ['10.0.0.0/27'], [tcp(1)])), portMatchCount).covers, []);
  const apart = partition(4, [...entries('10.0.0.0/25', ['10.0.0.0/28'], [tcp(1)]), ...entries('10.0.0.128/25', ['10.0.0.128/28'], [tcp(2)])]);
  // each half is a cover of its own; no cover spans both (their ports differ and neither includes the other)
  assert.deepEqual(show(coverAtoms(apart, portMatchCount)), ['cover 10.0.0.0/25 TCP:1', 'cover 10.0.0.128/25 TCP:2', 'hole 10.0.0.0/28', 'hole 10.0.0.128/28']);
});

test('a cover never holds an atom that allows less than the cover (it would widen that atom)', () => {
  // .0/25 all ports except a hole; .128/26 only TCP 80: a cover of 'all' must not span it
  const atoms = partition(4, [...entries('10.0.0.0/25', ['10.0.0.0/28'], 'all'), { net: net('10.0.0.128/26'), ports: portSetOf([tcp(80)]) }]);
  const l = coverAtoms(atoms, portMatchCount);
  for (const c of l.covers) for (const a of atoms) if (contains(c.net, a.net)) assert.ok(portSetIncludes(a.ports, c.ports), `${formatNet(c.net)} holds ${formatNet(a.net)}`);
});

// --- property -------------------------------------------------------------------------------

const port = fc.constantFrom<PortSpec>(tcp(80), tcp(443), tcp(1000, 2000), { protocol: 'UDP', start: 53, end: 53 }, { protocol: 'SCTP' });
const block = fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 26, max: 32 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 27, max: 32 })), { maxLength: 3 }), fc.oneof(fc.constant('all' as const), fc.array(port, { minLength: 1, maxLength: 3 })));
const host = (h: number, len: number): string => `10.0.0.${h}/${len}`;

test('property: the layout allows every address exactly what the atoms allow, never costs more, and keeps each level disjoint', () => {
  fc.assert(
    fc.property(fc.array(block, { minLength: 1, maxLength: 5 }), (blocks) => {
      const es = blocks.flatMap(([h, len, holes, ports]) => entries(host(h, len), holes.map(([x, l]) => host(x, l)), ports));
      const atoms = partition(4, es);
      const l = coverAtoms(atoms, portMatchCount);
      const plain = atoms.reduce((n, a) => n + portMatchCount(a.ports), 0);
      assert.ok(l.cost <= plain);
      assert.equal(l.cost, [...l.first, ...l.narrowed, ...l.covers].reduce((n, e) => n + portMatchCount(e.ports), 0) + l.holes.length, 'cost is what is written');
      const firstLevel = [...l.first.map((e) => e.net), ...l.narrowed.map((e) => e.net), ...l.holes];
      for (const e of l.narrowed) assert.ok(l.covers.some((c) => contains(c.net, e.net)), 'a narrowed entry lies in a cover');
      for (let i = 0; i < firstLevel.length; i++) for (let j = i + 1; j < firstLevel.length; j++) assert.ok(!overlaps(firstLevel[i]!, firstLevel[j]!), 'first level disjoint');
      for (let i = 0; i < l.covers.length; i++) for (let j = i + 1; j < l.covers.length; j++) assert.ok(!overlaps(l.covers[i]!.net, l.covers[j]!.net), 'covers disjoint');
      for (const h of l.holes) assert.ok(l.covers.some((c) => contains(c.net, h)), 'a hole lies in a cover');
      for (let a = 0; a < 256; a++) {
        const addr = hostNet(4, (10n << 24n) | BigInt(a));
        const want = allowedByAtoms(atoms, addr);
        const got = allowedBy(l, addr);
        assert.equal(got === null ? 'none' : portSetKey(got), want === null ? 'none' : portSetKey(want), `10.0.0.${a}`);
      }
    }),
    { numRuns: 500 },
  );
});

test('portSetMinus: what is left beyond a subset, with what ranges cannot say kept whole', () => {
  const p = (ports: 'all' | PortSpec[]): PortSet => portSetOf(ports);
  const key = (s: PortSet | null): string => (s === null ? 'none' : portSetKey(s));
  assert.equal(key(portSetMinus(p([tcp(80), tcp(9000, 9100)]), p([tcp(80)]))), 'TCP:9000-9100');
  assert.equal(key(portSetMinus(p([tcp(1000, 2000)]), p([tcp(1500)]))), 'TCP:1000-1499,1501-2000');
  assert.equal(key(portSetMinus(p([tcp(80)]), p([tcp(80)]))), 'none');
  assert.equal(key(portSetMinus(p('all'), p([tcp(80)]))), 'all');
  assert.equal(key(portSetMinus(p([{ protocol: 'TCP' }]), p([tcp(80)]))), 'TCP:*', 'port 0 has no range: keep protocol-only');
  assert.equal(key(portSetMinus(p([{ protocol: 'TCP' }, { protocol: 'UDP', start: 53, end: 53 }]), p([{ protocol: 'TCP' }]))), 'UDP:53');
});

test('portSetIncludes: all includes everything, ranges must sit inside one range, any covers ranges', () => {
  const p = (ports: 'all' | PortSpec[]): PortSet => portSetOf(ports);
  assert.ok(portSetIncludes(p('all'), p([tcp(1)])));
  assert.ok(!portSetIncludes(p([tcp(1, 65535)]), p('all')));
  assert.ok(portSetIncludes(p([tcp(80, 90)]), p([tcp(80), tcp(85, 90)])));
  assert.ok(!portSetIncludes(p([tcp(80, 90)]), p([tcp(80, 91)])));
  assert.ok(!portSetIncludes(p([tcp(80), tcp(82)]), p([tcp(80, 82)])), 'a gap at 81');
  assert.ok(portSetIncludes(p([{ protocol: 'TCP' }]), p([tcp(1, 65535), tcp(7)])));
  assert.ok(!portSetIncludes(p([tcp(1, 65535)]), p([{ protocol: 'TCP' }])), 'protocol-only is not a range');
  assert.ok(!portSetIncludes(p([tcp(53)]), p([{ protocol: 'UDP', start: 53, end: 53 }])));
  assert.equal(portMatchCount(p([tcp(80), tcp(443), { protocol: 'UDP' }])), 3);
  assert.equal(portMatchCount(p('all')), 1);
});
