import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TcFilter } from '../../../core/model/tc.js';
import { newConntrackTable } from '../../../core/tcmodel/conntrack.js';
import { describeModelError } from '../../../core/tcmodel/model-error.js';
import type { Encapsulation } from '../../../core/tcmodel/packet.js';
import { checkNeighbourDiscovery, decideConnection, deliver, type Connection, type ConnectionDecision, type Program } from '../../../core/tcmodel/probe.js';
import { ct, drop, entryChain, filter, goto, layoutProgram, pass, verdictChain } from './programs.js';

const A = '10.0.0.1';
const B = '10.0.0.2';
const C = '10.0.0.3';
const tcp80: Connection = { family: 'ipv4', protocol: 'TCP', srcIp: A, dstIp: B, srcPort: 40000, dstPort: 80 };

function decide(src: Program | null, dst: Program | null, conn: Connection = tcp80): ConnectionDecision {
  const r = decideConnection(src, dst, conn, newConntrackTable());
  if (!r.ok) assert.fail(describeModelError(r.error));
  return r.value;
}

test('with no program at either end everything is delivered', () => {
  assert.equal(decide(null, null).verdict, 'allow');
  const r = deliver(null, null, { encapsulation: 'untagged', ethertype: 'other' }, newConntrackTable());
  assert.ok(r.ok && r.value.delivered);
});

test('an isolated ingress allows only the listed peer and port, and the reply gets back', () => {
  const dst = layoutProgram({ egress: 'open', ingress: [{ cidr: `${A}/32`, ipProto: 'tcp', ports: [80, 80] }] });
  const allowed = decide(null, dst);
  assert.equal(allowed.verdict, 'allow');
  assert.deepEqual(allowed.exchange.map((s) => s.role), ['opening', 'reply', 'data', 'data-reply']);
  assert.equal(decide(null, dst, { ...tcp80, dstPort: 81 }).verdict, 'deny');
  assert.equal(decide(null, dst, { ...tcp80, srcIp: C }).verdict, 'deny');
  assert.equal(decide(null, dst, { ...tcp80, protocol: 'UDP' }).verdict, 'deny');
  const denied = decide(null, dst, { ...tcp80, dstPort: 81 });
  assert.equal(denied.exchange.length, 1);
  assert.equal(denied.exchange[0]?.delivery.droppedAt, 'destination');
});

test('an isolated egress allows only the listed destination; replies come back through the open side', () => {
  const src = layoutProgram({ egress: [{ cidr: '10.0.0.0/30' }], ingress: 'open' });
  assert.equal(decide(src, null).verdict, 'allow');
  assert.equal(decide(src, null, { ...tcp80, dstIp: '10.0.0.4' }).verdict, 'deny');
});

test('replies pass an isolated hook as established even when it allows nothing', () => {
  const src = layoutProgram({ egress: [{ cidr: `${B}/32` }], ingress: [] });
  const dst = layoutProgram({ egress: [], ingress: [{ cidr: `${A}/32` }] });
  for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) {
    assert.equal(decide(src, dst, { ...tcp80, protocol }).verdict, 'allow', protocol);
  }
  assert.equal(decide(dst, src, { ...tcp80, srcIp: B, dstIp: A }).verdict, 'deny', 'the other way round is not allowed');
});

test('IPv6 connections are decided by the IPv6 filters', () => {
  const dst = layoutProgram({ egress: 'open', ingress: [{ cidr: 'fd00::1/128', ipProto: 'udp', ports: [53, 53] }] });
  const v6: Connection = { family: 'ipv6', protocol: 'UDP', srcIp: 'fd00::1', dstIp: 'fd00::2', srcPort: 40000, dstPort: 53 };
  assert.equal(decide(null, dst, v6).verdict, 'allow');
  assert.equal(decide(null, dst, { ...v6, srcIp: 'fd00::3' }).verdict, 'deny');
  assert.equal(decide(null, dst, { ...tcp80, protocol: 'UDP', dstPort: 53 }).verdict, 'deny', 'IPv4 has no allow');
});

test('802.1Q frames get the same verdicts as untagged ones; QinQ sent through act_ct dies there (lab)', () => {
  const src = layoutProgram({ egress: [{ cidr: `${B}/32`, ipProto: 'tcp', ports: [80, 90] }], ingress: [] });
  const dst = layoutProgram({ egress: [], ingress: [{ cidr: '10.0.0.0/24' }] });
  for (const encapsulation of ['untagged', '802.1Q'] as Encapsulation[]) {
    assert.equal(decide(src, dst, { ...tcp80, encapsulation }).verdict, 'allow', encapsulation);
    assert.equal(decide(src, dst, { ...tcp80, dstPort: 91, encapsulation }).verdict, 'deny', encapsulation);
  }
  // this hand-built program (the first layout) sends QinQ through ct, which drops it
  assert.equal(decide(src, dst, { ...tcp80, encapsulation: '802.1ad' }).verdict, 'deny');
});

test('a verdict filter that jumps to a port chain is followed', () => {
  const hook = 'egress';
  const dst: Program = {
    filters: [
      ...entryChain(hook),
      filter(hook, 10000, 1, 'all', { ctState: '+trk+est' }, pass),
      filter(hook, 10000, 2, 'ip', { ctState: '+trk+new', srcIp: '10.0.0.0/24' }, goto(10001)),
      filter(hook, 10000, 9, 'all', {}, drop),
      filter(hook, 10001, 2, 'ip', { ipProto: 'tcp', dstPort: { start: 5000, end: 5900 } }, ct(0, true), pass),
      filter(hook, 10001, 9, 'all', {}, drop),
    ],
  };
  assert.equal(decide(null, dst, { ...tcp80, dstPort: 5900 }).verdict, 'allow');
  assert.equal(decide(null, dst, { ...tcp80, dstPort: 5901 }).verdict, 'deny');
});

// The lab's "double-ct bypass": chain 0 sends only untracked (-trk) frames to ct. A frame
// already tracked at the source representor arrives +trk, matches nothing in chain 0, and
// clsact passes it: the destination's deny-all ingress is skipped.
function trkOnlyProgram(): Program {
  const filters: TcFilter[] = [];
  for (const hook of ['ingress', 'egress'] as const) {
    filters.push(
      filter(hook, 0, 1, 'arp', {}, pass),
      filter(hook, 0, 10, 'ip', { ctState: '-trk' }, ct(), goto(1)),
      filter(hook, 0, 11, 'ipv6', { ctState: '-trk' }, ct(), goto(1)),
      filter(hook, 1, 10, 'all', { ctState: '+trk+est' }, pass),
      filter(hook, 1, 99, 'all', {}, drop),
    );
  }
  // the pod may open connections itself
  filters.push(filter('ingress', 1, 20, 'ip', { ctState: '+trk+new' }, ct(0, true), pass));
  return { filters };
}

test('a ct_state -trk entry is bypassed by a frame tracked at the source; the unconditional ct entry is not', () => {
  const source = layoutProgram({ egress: [{ cidr: `${B}/32` }], ingress: 'open' });
  const bypassed = decide(source, trkOnlyProgram());
  assert.equal(bypassed.verdict, 'allow', 'deny-all ingress skipped');
  const opening = bypassed.exchange[0]?.delivery.destination;
  assert.deepEqual(opening?.path, [{ kind: 'no-match', hook: 'egress', chain: 0 }]);

  assert.equal(decide(null, trkOnlyProgram()).verdict, 'deny', 'an untracked frame is enforced');
  const layoutDenyAll = layoutProgram({ egress: 'open', ingress: [] });
  assert.equal(decide(source, layoutDenyAll).verdict, 'deny', 'the layout program enforces tracked frames too');
  assert.equal(decide(null, layoutDenyAll).verdict, 'deny');
});

test('ARP and IPv6 neighbour discovery pass deny-all programs both ways, untagged or 802.1Q', () => {
  const denyAll = layoutProgram({ egress: [], ingress: [] });
  for (const encapsulation of ['untagged', '802.1Q'] as Encapsulation[]) {
    for (const [family, aIp, bIp] of [['ipv4', A, B], ['ipv6', 'fd00::1', 'fd00::2']] as const) {
      const r = checkNeighbourDiscovery(denyAll, denyAll, { family, aIp, bIp, encapsulation }, newConntrackTable());
      if (!r.ok) assert.fail(describeModelError(r.error));
      assert.equal(r.value.ok, true, `${family} ${encapsulation}`);
      assert.equal(r.value.exchange.length, 4);
    }
  }
});

test('a program whose entry sends ARP to ct breaks address resolution', () => {
  const broken: Program = {
    filters: [
      filter('egress', 0, 10000, 'all', {}, ct(), goto(10000)),
      ...verdictChain('egress', [{ cidr: '10.0.0.0/24' }]),
    ],
  };
  const r = checkNeighbourDiscovery(null, broken, { family: 'ipv4', aIp: A, bIp: B }, newConntrackTable());
  assert.ok(r.ok);
  assert.equal(r.value.ok, false);
  const v6 = checkNeighbourDiscovery(null, broken, { family: 'ipv6', aIp: 'fd00::1', bIp: 'fd00::2' }, newConntrackTable());
  assert.ok(v6.ok);
  assert.equal(v6.value.ok, true, 'ND passes the verdict chain by type');
});

test('frames carry the ends MACs: the reply swaps them, ARP asks broadcast, NS asks the solicited-node group, answers go to the asker', () => {
  const aMac = '02:00:00:00:00:01';
  const bMac = '02:00:00:00:00:02';
  const d = decide(null, null, { ...tcp80, srcMac: aMac, dstMac: bMac });
  const [opening, reply] = d.exchange;
  assert.deepEqual([opening?.frame.srcMac, opening?.frame.dstMac], [aMac, bMac]);
  assert.deepEqual([reply?.frame.srcMac, reply?.frame.dstMac], [bMac, aMac]);
  const v4 = checkNeighbourDiscovery(null, null, { family: 'ipv4', aIp: A, bIp: B, aMac, bMac }, newConntrackTable());
  assert.ok(v4.ok);
  assert.deepEqual(v4.value.exchange.map((x) => [x.from, x.frame.srcMac, x.frame.dstMac]), [
    ['a', aMac, 'ff:ff:ff:ff:ff:ff'],
    ['b', bMac, aMac],
    ['b', bMac, 'ff:ff:ff:ff:ff:ff'],
    ['a', aMac, bMac],
  ]);
  const v6 = checkNeighbourDiscovery(null, null, { family: 'ipv6', aIp: 'fd00::1', bIp: 'fd00::12:3456', aMac, bMac }, newConntrackTable());
  assert.ok(v6.ok);
  assert.deepEqual(v6.value.exchange[0]?.frame.dstMac, '33:33:ff:12:34:56', 'ff02::1:ff12:3456');
  assert.deepEqual(v6.value.exchange[1]?.frame.dstMac, aMac);
});
