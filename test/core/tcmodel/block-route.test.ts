// Paths through shared ingress blocks, on hand-built block programs in the shape of
// /work/briefs/issue9.md (independent of core/pipeline/compile-block.ts on purpose).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TcFilter } from '../../../core/model/tc.js';
import { blockPath, blockRoute, type BlockPort, type BlockSwitch } from '../../../core/tcmodel/block-route.js';
import { newConntrackTable } from '../../../core/tcmodel/conntrack.js';
import { describeModelError } from '../../../core/tcmodel/model-error.js';
import { checkProgram } from '../../../core/tcmodel/program-check.js';
import {
  checkNeighbourDiscoveryAlong,
  decideConnection,
  decideConnectionAlong,
  deliver,
  deliverAlong,
  portPath,
  type Connection,
  type ConnectionDecision,
  type Route,
} from '../../../core/tcmodel/probe.js';
import { describeHopRun } from '../../../core/tcmodel/trace-text.js';
import { ct, drop, filter, goto, layoutProgram, pass } from './programs.js';

const A = '10.0.0.1';
const B = '10.0.0.2';
const C = '10.0.0.3';
const D = '10.0.0.4';
const EXT = '10.0.0.9';
const SOURCE = 10000;
const DESTINATION = 10001;

/**
 * One switch's block: pod A (port repA) may send only to C; pod C accepts only A on TCP 80;
 * pods B and D are open. `ports` says which of A and C sit on this switch; `zone` is the
 * switch's conntrack zone.
 */
function block(zone: number, ports: { a?: string; c?: string } = { a: 'repA', c: 'repC' }): TcFilter[] {
  const h = 'ingress';
  const out: TcFilter[] = [filter(h, 0, 10000, 'arp', {}, pass)];
  if (ports.a) out.push(filter(h, 0, 10005, 'all', { indev: ports.a }, ct(zone), goto(SOURCE)));
  out.push(
    filter(h, 0, 10006, 'ip', {}, ct(zone), goto(DESTINATION)),
    filter(h, SOURCE, 2, 'ip', { ctState: '+trk-new-inv' }, pass),
    filter(h, SOURCE, 9, 'all', {}, drop),
    filter(h, DESTINATION, 2, 'ip', { ctState: '+trk-new-inv' }, pass),
    filter(h, DESTINATION, 22, 'ip', {}, ct(zone, true), pass),
  );
  if (ports.a) out.push(filter(h, SOURCE, 2, 'ip', { indev: ports.a, ctState: '+trk+new', dstIp: `${C}/32` }, goto(DESTINATION)));
  // C's ingress is keyed on its address, whatever port the frame came in through
  if (ports.c) out.push(
    filter(h, DESTINATION, 2, 'ip', { ctState: '+trk+new', dstIp: `${C}/32`, srcIp: `${A}/32`, ipProto: 'tcp', dstPort: { start: 80, end: 80 } }, ct(zone, true), pass),
    filter(h, DESTINATION, 12, 'ip', { dstIp: `${C}/32` }, drop),
  );
  return out;
}

const sw: BlockSwitch = { id: 'sw', uplink: 'uplink', filters: block(7), at: 'block 1' };
const on = (port: string, s: BlockSwitch = sw): BlockPort => ({ sw: s, port });
const tcp80 = (srcIp: string, dstIp: string, over: Partial<Connection> = {}): Connection => ({ family: 'ipv4', protocol: 'TCP', srcIp, dstIp, srcPort: 40000, dstPort: 80, ...over });

function decide(route: Route, conn: Connection): ConnectionDecision {
  const r = decideConnectionAlong(route, conn, newConntrackTable());
  if (!r.ok) assert.fail(describeModelError(r.error));
  return r.value;
}

/** The chains the opening frame's last hop went through. */
const chainsOf = (d: ConnectionDecision): number[] => d.exchange[d.exchange.length - 1]!.delivery.hops.at(-1)!.run.path.map((s) => s.chain);

test('the hand-built block is one the kernel would take', () => {
  assert.deepEqual(checkProgram(block(7)).map(describeModelError), []);
});

test('a frame is classified once, by the block of the switch it enters, with indev = the port it entered through', () => {
  assert.deepEqual(blockPath(on('repA'), on('repC')).map((h) => [h.hook, h.indev, h.side, h.fresh ?? false]), [['ingress', 'repA', 'source', false]]);
  assert.deepEqual(blockPath(null, on('repC')).map((h) => [h.indev, h.side]), [['uplink', 'destination']], 'from outside: the uplink');
  assert.deepEqual(blockPath(on('repA'), null).map((h) => [h.indev, h.side]), [['repA', 'source']], 'toward outside: nothing runs on the way out');
  assert.deepEqual(blockPath(null, null), []);
  const other: BlockSwitch = { id: 'sw2', uplink: 'uplink2', filters: [] };
  assert.deepEqual(blockPath(on('repA'), on('repX', other)).map((h) => [h.indev, h.side, h.fresh ?? false]), [['repA', 'source', false], ['uplink2', 'destination', true]], 'across switches: the second enters at its uplink');
});

test('between two pods of one switch: the sender egress (SOURCE) then the receiver ingress (DESTINATION), one classification', () => {
  const allowed = decide(blockRoute(on('repA'), on('repC')), tcp80(A, C));
  assert.equal(allowed.verdict, 'allow');
  assert.ok(allowed.exchange.every((x) => x.delivery.hops.length === 1));
  assert.deepEqual(allowed.exchange[0]!.delivery.hops[0]!.run.path.map((s) => s.chain), [0, SOURCE, DESTINATION]);

  const toD = decide(blockRoute(on('repA'), on('repD')), tcp80(A, D));
  assert.equal(toD.verdict, 'deny', 'A may send to C only');
  assert.deepEqual(chainsOf(toD), [0, SOURCE]);

  const fromB = decide(blockRoute(on('repB'), on('repC')), tcp80(B, C));
  assert.equal(fromB.verdict, 'deny', 'C accepts A only');
  assert.deepEqual(chainsOf(fromB), [0, DESTINATION]);
  assert.equal(decide(blockRoute(on('repA'), on('repC')), tcp80(A, C, { dstPort: 81 })).verdict, 'deny');
  assert.equal(decide(blockRoute(on('repB'), on('repD')), tcp80(B, D)).verdict, 'allow', 'open pods talk freely');
});

test('replies enter at the receiver port and pass as established, also into a pod whose egress allows nothing back', () => {
  const d = decide(blockRoute(on('repA'), on('repC')), tcp80(A, C));
  const reply = d.exchange.find((x) => x.role === 'reply')!;
  assert.equal(reply.delivery.hops[0]!.hop.indev, 'repC');
  assert.equal(reply.delivery.delivered, true);
  // C opening toward A (A's ingress is open, C's egress is open) is fine; A's SOURCE passes the replies
  assert.equal(decide(blockRoute(on('repC'), on('repA')), tcp80(C, A, { dstPort: 22 })).verdict, 'allow');
});

test('from outside, a frame enters at the uplink and meets the receiver ingress only', () => {
  assert.equal(decide(blockRoute(null, on('repC')), tcp80(EXT, C)).verdict, 'deny');
  assert.equal(decide(blockRoute(null, on('repD')), tcp80(EXT, D)).verdict, 'allow');
  assert.equal(decide(blockRoute(on('repA'), null), tcp80(A, EXT)).verdict, 'deny', 'A egress toward outside');
  assert.equal(decide(blockRoute(on('repB'), null), tcp80(B, EXT)).verdict, 'allow');
});

test('a forged source address does not escape the sender egress: classification is by the port it entered through', () => {
  // A pretends to be B (open egress) toward D: still A's SOURCE policy, which allows C only
  const forged = decide(blockRoute(on('repA'), on('repD')), tcp80(B, D));
  assert.equal(forged.verdict, 'deny');
  assert.deepEqual(chainsOf(forged), [0, SOURCE]);
  assert.equal(decide(blockRoute(on('repB'), on('repD')), tcp80(B, D)).verdict, 'allow', 'the same frame from B port is allowed');
});

test('ARP passes every port; an indev filter never fires for a frame entering elsewhere', () => {
  for (const route of [blockRoute(on('repA'), on('repD')), blockRoute(null, on('repC'))]) {
    const r = checkNeighbourDiscoveryAlong(route, { family: 'ipv4', aIp: A, bIp: D }, newConntrackTable());
    assert.ok(r.ok && r.value.ok);
  }
  const viaUplink = deliverAlong(blockPath(null, on('repD')), { encapsulation: 'untagged', ethertype: 'ip', src: A, dst: D, l4: 'udp', srcPort: 1, dstPort: 53 }, newConntrackTable());
  assert.ok(viaUplink.ok && viaUplink.value.delivered, 'A address from the uplink is not A');
  assert.ok(viaUplink.ok && viaUplink.value.hops[0]!.run.path.every((s) => s.kind !== 'filter' || s.filter.match.indev === undefined));
});

test('across two switches: each switch classifies the frame in its own zone; the receiver ingress runs at its switch uplink', () => {
  const sw1: BlockSwitch = { id: 'sw1', uplink: 'uplink1', filters: block(1, { a: 'repA' }) };
  const sw2: BlockSwitch = { id: 'sw2', uplink: 'uplink2', filters: block(2, { c: 'repC' }) };
  const table = newConntrackTable();
  const r = decideConnectionAlong(blockRoute(on('repA', sw1), on('repC', sw2)), tcp80(A, C), table);
  assert.ok(r.ok);
  assert.equal(r.value.verdict, 'allow');
  const opening = r.value.exchange[0]!.delivery;
  assert.deepEqual(opening.hops.map((h) => h.hop.indev), ['repA', 'uplink2']);
  assert.deepEqual([...new Set([...table.entries.values()].map((e) => e.zone))].sort(), [1, 2], 'committed in both zones');
  // the receiver ingress is enforced at the second switch, where C's filters are
  assert.equal(decide(blockRoute(on('repA', sw1), on('repC', sw2)), tcp80(A, C, { dstPort: 81 })).verdict, 'deny');
  const fromB = decide(blockRoute(on('repB', sw1), on('repC', sw2)), tcp80(B, C));
  assert.equal(fromB.verdict, 'deny');
  assert.deepEqual(fromB.exchange[0]!.delivery.hops.map((h) => [h.hop.indev, h.run.verdict]), [['repB', 'pass'], ['uplink2', 'drop']]);
  assert.equal(fromB.exchange[0]!.delivery.droppedAt, 'destination');
});

test('the per-port path is the old delivery: source rep ingress hook, then destination rep egress hook', () => {
  const src = layoutProgram({ egress: [{ cidr: `${C}/32` }], ingress: [] });
  const dst = layoutProgram({ egress: 'open', ingress: [{ cidr: `${A}/32`, ipProto: 'tcp', ports: [80, 80] }] });
  assert.deepEqual(portPath(src, dst).map((h) => [h.hook, h.side, h.indev]), [['ingress', 'source', undefined], ['egress', 'destination', undefined]]);
  for (const conn of [tcp80(A, C), tcp80(A, C, { dstPort: 81 }), tcp80(A, D), tcp80(A, C, { protocol: 'UDP' })]) {
    const old = decideConnection(src, dst, conn, newConntrackTable());
    assert.ok(old.ok);
    for (const step of old.value.exchange) {
      const again = deliver(step.backwards ? dst : src, step.backwards ? src : dst, step.frame, newConntrackTable());
      assert.ok(again.ok);
      assert.equal(again.value.hops.length, [again.value.source, again.value.destination].filter((x) => x !== null).length);
    }
  }
  const denied = decideConnection(src, dst, tcp80(A, C, { dstPort: 81 }), newConntrackTable());
  assert.ok(denied.ok);
  assert.equal(denied.value.exchange[0]!.delivery.droppedAt, 'destination');
  assert.equal(denied.value.exchange[0]!.delivery.destination, denied.value.exchange[0]!.delivery.hops[1]!.run);
});

test('a hop run reads as the block, the port the frame came in through, then the filters it went through', () => {
  const d = deliverAlong(blockPath(on('repA'), on('repD')), { encapsulation: 'untagged', ethertype: 'ip', src: A, dst: D, l4: 'udp', srcPort: 1, dstPort: 53 }, newConntrackTable());
  assert.ok(d.ok);
  assert.deepEqual(describeHopRun(d.value.hops[0]!), [
    'block 1, entered through repA:',
    '  ingress chain 0 pref 10005 protocol all indev=repA: ct zone 7 (+trk+new), goto chain 10000',
    '  ingress chain 10000 pref 9 protocol all: drop',
    '  => drop',
  ]);
});
