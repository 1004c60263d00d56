import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { contains, formatNet, overlaps, parseCidr, type Net } from '../../../core/model/cidr.js';
import type { PortSpec } from '../../../core/model/rules.js';
import { partition, type Entry } from '../../../core/pipeline/partition.js';
import { portSetKey, portSetOf, unionPortSets, type PortSet } from '../../../core/pipeline/port-set.js';

const net = (s: string): Net => parseCidr(s)!;
const e = (cidr: string, ports: 'all' | readonly PortSpec[]): Entry => ({ net: net(cidr), ports: portSetOf(ports) });
const show = (es: readonly Entry[]): string[] => es.map((x) => `${formatNet(x.net)} ${portSetKey(x.ports)}`);
const tcp = (p: number): PortSpec => ({ protocol: 'TCP', start: p, end: p });

test('no entries of a family: nothing', () => {
  assert.deepEqual(partition(4, []), []);
  assert.deepEqual(partition(6, [e('10.0.0.0/8', 'all')]), []);
});

test('a single entry comes back unchanged', () => {
  assert.deepEqual(show(partition(4, [e('10.17.0.0/16', [tcp(6666)])])), ['10.17.0.0/16 TCP:6666']);
});

test('sibling aggregation: /25 + /25 with the same ports is one /24', () => {
  assert.deepEqual(show(partition(4, [e('10.0.0.0/25', [tcp(80)]), e('10.0.0.128/25', [tcp(80)])])), ['10.0.0.0/24 TCP:80']);
});

test('siblings with different ports are not aggregated', () => {
  assert.deepEqual(show(partition(4, [e('10.0.0.0/25', [tcp(80)]), e('10.0.0.128/25', [tcp(81)])])), ['10.0.0.0/25 TCP:80', '10.0.0.128/25 TCP:81']);
});

test('aggregation goes up several levels: four /26 are one /24', () => {
  const quarters = ['10.0.0.0/26', '10.0.0.64/26', '10.0.0.128/26', '10.0.0.192/26'].map((c) => e(c, [tcp(80)]));
  assert.deepEqual(show(partition(4, quarters)), ['10.0.0.0/24 TCP:80']);
});

test("'all' dominates: a narrower grant inside an all-ports grant adds nothing", () => {
  assert.deepEqual(show(partition(4, [e('10.0.0.0/24', 'all'), e('10.0.0.5/32', [tcp(80)])])), ['10.0.0.0/24 all']);
});

test('a narrower grant inside a wider one carries the union, the rest keeps the wide ports', () => {
  const out = partition(4, [e('10.0.0.0/30', [tcp(80)]), e('10.0.0.1/32', [tcp(443)])]);
  assert.deepEqual(show(out), ['10.0.0.0/32 TCP:80', '10.0.0.1/32 TCP:80,443', '10.0.0.2/31 TCP:80']);
});

test('overlapping identical grants collapse (upstream bug 8 relied on the actuator to dedupe)', () => {
  assert.deepEqual(show(partition(4, [e('10.0.0.0/24', [tcp(80)]), e('10.0.0.0/24', [tcp(80)]), e('10.0.0.0/25', [tcp(80)])])), ['10.0.0.0/24 TCP:80']);
});

test('a /0 grant spans the whole family and unions into every narrower grant', () => {
  assert.deepEqual(show(partition(4, [e('0.0.0.0/0', [tcp(53)]), e('0.0.0.0/1', [tcp(53)]), e('128.0.0.0/1', [tcp(53)])])), ['0.0.0.0/0 TCP:53']);
  const out = partition(6, [e('::/0', 'all'), e('fd00::/64', [tcp(80)])]);
  assert.deepEqual(show(out), ['::/0 all']);
});

test('families are partitioned separately', () => {
  const entries = [e('10.0.0.0/8', [tcp(1)]), e('fd00::/8', [tcp(2)])];
  assert.deepEqual(show(partition(4, entries)), ['10.0.0.0/8 TCP:1']);
  assert.deepEqual(show(partition(6, entries)), ['fd00::/8 TCP:2']);
});

// --- properties over random grants inside 10.0.0.0/24 ---------------------------------------

const portSpec = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const) }),
  fc
    .tuple(fc.constantFrom('TCP' as const, 'UDP' as const), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 3 }))
    .map(([protocol, start, w]): PortSpec => ({ protocol, start, end: start + w })),
);
const ports = fc.oneof({ weight: 1, arbitrary: fc.constant('all' as const) }, { weight: 6, arbitrary: fc.array(portSpec, { minLength: 1, maxLength: 3 }) });
const entry = fc.oneof(
  { weight: 20, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 })) },
  { weight: 1, arbitrary: fc.constant([0, 0] as [number, number]) },
).chain(([host, len]) =>
  ports.map((p): Entry => {
    const n = len === 0 ? net('0.0.0.0/0') : net(`10.0.0.${host}/${len}`);
    return { net: n, ports: portSetOf(p) };
  }),
);
const entries = fc.array(entry, { minLength: 1, maxLength: 8 });
const probes = [...Array.from({ length: 256 }, (_, i) => `10.0.0.${i}`), '10.0.1.0', '9.255.255.255', '192.168.0.1'].map(net);

function effective(es: readonly Entry[], a: Net): PortSet | null {
  return es.filter((x) => contains(x.net, a)).reduce<PortSet | null>((acc, x) => (acc ? unionPortSets(acc, x.ports) : x.ports), null);
}

test('property: output networks are pairwise disjoint', () => {
  fc.assert(
    fc.property(entries, (es) => {
      const out = partition(4, es);
      for (let i = 0; i < out.length; i++) for (let j = i + 1; j < out.length; j++) assert.equal(overlaps(out[i]!.net, out[j]!.net), false, show([out[i]!, out[j]!]).join(' vs '));
    }),
  );
});

test("property: every address's port set in the output is the union of the input entries containing it", () => {
  fc.assert(
    fc.property(entries, (es) => {
      const out = partition(4, es);
      for (const a of probes) {
        const want = effective(es, a);
        const holders = out.filter((x) => contains(x.net, a));
        if (want === null) assert.equal(holders.length, 0, `${formatNet(a)} is covered by no entry`);
        else {
          assert.equal(holders.length, 1, `${formatNet(a)} must be in exactly one atom`);
          assert.equal(portSetKey(holders[0]!.ports), portSetKey(want), formatNet(a));
        }
      }
    }),
  );
});

test('property: sibling atoms with equal port sets are always aggregated, and output is sorted', () => {
  fc.assert(
    fc.property(entries, (es) => {
      const out = partition(4, es);
      const keys = new Map(out.map((x) => [formatNet(x.net), portSetKey(x.ports)]));
      for (const x of out) {
        if (x.net.len === 0) continue;
        const bit = 1n << BigInt(32 - x.net.len);
        const sibling = formatNet({ family: 4, addr: x.net.addr ^ bit, len: x.net.len });
        assert.notEqual(keys.get(sibling), portSetKey(x.ports), `${formatNet(x.net)} and ${sibling} should be one prefix`);
      }
      const sorted = [...out].sort((p, q) => (p.net.addr < q.net.addr ? -1 : p.net.addr > q.net.addr ? 1 : p.net.len - q.net.len));
      assert.deepEqual(show(out), show(sorted));
    }),
  );
});

test('property: the result does not depend on the order of the entries', () => {
  fc.assert(
    fc.property(entries.chain((es) => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length }))), ([es, shuffled]) => {
      assert.deepEqual(show(partition(4, shuffled)), show(partition(4, es)));
    }),
  );
});
