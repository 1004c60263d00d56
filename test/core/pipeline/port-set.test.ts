import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PortSpec } from '../../../core/model/rules.js';
import { portMatches, portSetKey, portSetOf, unionPortSets, type PortSet } from '../../../core/pipeline/port-set.js';

const key = (ports: 'all' | readonly PortSpec[]): string => portSetKey(portSetOf(ports));
const tcp = (start?: number, end?: number): PortSpec => ({ protocol: 'TCP', ...(start !== undefined ? { start, end: end ?? start } : {}) });
const udp = (start?: number, end?: number): PortSpec => ({ protocol: 'UDP', ...(start !== undefined ? { start, end: end ?? start } : {}) });
const sctp = (start?: number, end?: number): PortSpec => ({ protocol: 'SCTP', ...(start !== undefined ? { start, end: end ?? start } : {}) });

const rows: [string, 'all' | readonly PortSpec[], string][] = [
  ["'all' stays all", 'all', 'all'],
  ['one port', [tcp(80)], 'TCP:80'],
  ['the lowest and the highest port', [tcp(1), tcp(65535)], 'TCP:1,65535'],
  ['the full range 1-65535 is a range, not protocol-only', [tcp(1, 65535)], 'TCP:1-65535'],
  ['duplicates collapse', [tcp(80), tcp(80)], 'TCP:80'],
  ['ranges are sorted', [tcp(443), tcp(80)], 'TCP:80,443'],
  ['adjacent single ports merge into a range', [tcp(80), tcp(81)], 'TCP:80-81'],
  ['adjacent ranges merge', [tcp(1000, 1999), tcp(2000, 2999)], 'TCP:1000-2999'],
  ['overlapping ranges merge', [tcp(1000, 2500), tcp(2000, 2999)], 'TCP:1000-2999'],
  ['a contained range disappears', [tcp(1000, 2999), tcp(1500, 1600)], 'TCP:1000-2999'],
  ['ranges one apart do not merge', [tcp(80), tcp(82)], 'TCP:80,82'],
  ['a protocol-only entry covers every port of that protocol', [tcp(80), tcp()], 'TCP:*'],
  ['protocol-only before numeric still dominates', [tcp(), tcp(80)], 'TCP:*'],
  ['protocols are kept apart and printed TCP, UDP, SCTP', [sctp(7777), udp(53), tcp(80)], 'TCP:80 UDP:53 SCTP:7777'],
  ['one protocol-only entry does not widen the others', [udp(), tcp(80)], 'TCP:80 UDP:*'],
  ['SCTP is a protocol of its own', [sctp()], 'SCTP:*'],
];
for (const [what, input, want] of rows) {
  test(`portSetOf: ${what}`, () => assert.equal(key(input), want));
}

test("an empty list is the empty set, not 'all' (upstream bug 4 made it all)", () => {
  assert.equal(key([]), '');
  assert.notEqual(portSetOf([]), 'all');
});

test("union: 'all' dominates either side", () => {
  const some = portSetOf([tcp(80)]);
  assert.equal(unionPortSets('all', some), 'all');
  assert.equal(unionPortSets(some, 'all'), 'all');
});

test('union merges ranges across sets and keeps protocols apart', () => {
  const a = portSetOf([tcp(80), udp(53)]);
  const b = portSetOf([tcp(81, 90), sctp()]);
  assert.equal(portSetKey(unionPortSets(a, b)), 'TCP:80-90 UDP:53 SCTP:*');
});

test('union with a protocol-only set widens that protocol to every port', () => {
  assert.equal(portSetKey(unionPortSets(portSetOf([tcp(80)]), portSetOf([tcp()]))), 'TCP:*');
});

test('union is commutative and equal sets have equal keys', () => {
  const sets: PortSet[] = [portSetOf([tcp(1, 10)]), portSetOf([tcp(11), udp(5)]), portSetOf([sctp()]), portSetOf([])];
  for (const a of sets) for (const b of sets) assert.equal(portSetKey(unionPortSets(a, b)), portSetKey(unionPortSets(b, a)));
  assert.equal(portSetKey(unionPortSets(sets[0]!, sets[1]!)), 'TCP:1-11 UDP:5');
});

test('portMatches: one flower match per range, protocol-only has no dst_port', () => {
  const s = portSetOf([tcp(5000, 5900), udp(53), sctp(), tcp(80)]);
  assert.notEqual(s, 'all');
  assert.deepEqual(portMatches(s as Exclude<PortSet, 'all'>), [
    { ipProto: 'tcp', dstPort: { start: 80, end: 80 } },
    { ipProto: 'tcp', dstPort: { start: 5000, end: 5900 } },
    { ipProto: 'udp', dstPort: { start: 53, end: 53 } },
    { ipProto: 'sctp' },
  ]);
});

test('portMatches keeps the port edges 1 and 65535', () => {
  const s = portSetOf([udp(1), udp(65535)]) as Exclude<PortSet, 'all'>;
  assert.deepEqual(portMatches(s), [
    { ipProto: 'udp', dstPort: { start: 1, end: 1 } },
    { ipProto: 'udp', dstPort: { start: 65535, end: 65535 } },
  ]);
});
