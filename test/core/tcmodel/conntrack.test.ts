import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acrossHooks, applyCt, ctFlagsOf, newConntrackTable, skbOf, type ConntrackTable, type Skb } from '../../../core/tcmodel/conntrack.js';
import { formatCtBits } from '../../../core/tcmodel/ct-state.js';
import { reverseFrame, type Frame, type IpFrame } from '../../../core/tcmodel/packet.js';

const syn: IpFrame = { encapsulation: 'untagged', ethertype: 'ip', src: '10.0.0.1', dst: '10.0.0.2', l4: 'tcp', srcPort: 40000, dstPort: 80, segment: 'opening' };
const synAck = reverseFrame(syn, 'reply-opening');
const udp: IpFrame = { encapsulation: 'untagged', ethertype: 'ip', src: '10.0.0.1', dst: '10.0.0.2', l4: 'udp', srcPort: 40000, dstPort: 53 };

/** Runs one ct action on a fresh skb (or the given one) and returns the flags it leaves. */
function ctOn(table: ConntrackTable, what: Frame | Skb, zone = 0, commit = false): { flags: string; skb: Skb } {
  const skb = 'frame' in what ? what : skbOf(what);
  const r = applyCt(table, skb, zone, commit);
  assert.equal(r.kind, 'continue');
  if (r.kind !== 'continue') throw new Error('unreachable');
  return { flags: formatCtBits(ctFlagsOf(r.skb)), skb: r.skb };
}

test('a frame that never met ct has no flags', () => {
  assert.equal(ctFlagsOf(skbOf(syn)), 0);
});

test('with no entry: SYN and UDP are new, SYN-ACK and data are invalid', () => {
  const t = newConntrackTable();
  assert.equal(ctOn(t, syn).flags, '+trk+new');
  assert.equal(ctOn(t, udp).flags, '+trk+new');
  assert.equal(ctOn(t, synAck).flags, '+trk+inv');
  assert.equal(ctOn(t, { ...syn, segment: 'data' }).flags, '+trk+inv');
  assert.equal(ctOn(t, { ...syn, l4: 'sctp', segment: 'opening' }).flags, '+trk+new');
  assert.equal(ctOn(t, { ...syn, l4: 'sctp', segment: 'reply-opening' }).flags, '+trk+inv');
  assert.equal(t.entries.size, 0, 'a lookup without commit stores nothing');
});

test('ICMP echo requests open a connection, echo replies and neighbour discovery do not', () => {
  const t = newConntrackTable();
  const icmp: IpFrame = { encapsulation: 'untagged', ethertype: 'ip', src: '10.0.0.1', dst: '10.0.0.2', l4: 'icmp', icmpType: 8 };
  assert.equal(ctOn(t, icmp).flags, '+trk+new');
  assert.equal(ctOn(t, { ...icmp, icmpType: 0 }).flags, '+trk+inv');
  const ns: IpFrame = { encapsulation: 'untagged', ethertype: 'ipv6', src: 'fd00::1', dst: 'ff02::1:ff00:2', l4: 'icmpv6', icmpType: 135 };
  assert.equal(ctOn(t, ns).flags, '+trk+inv', 'untracked');
  assert.equal(ctOn(t, ns, 0, true).flags, '+trk+inv');
  assert.equal(t.entries.size, 0);
  const echo6: IpFrame = { ...ns, dst: 'fd00::2', icmpType: 128 };
  ctOn(t, echo6, 0, true);
  assert.equal(ctOn(t, reverseFrame({ ...echo6, icmpType: 129 })).flags, '+trk+est+rpl');
});

test('a committed connection: original stays new until a reply, the reply is est+rpl, then est', () => {
  const t = newConntrackTable();
  assert.equal(ctOn(t, syn, 0, true).flags, '+trk+new');
  assert.equal(t.entries.size, 1);
  assert.equal(ctOn(t, syn).flags, '+trk+new', 'retransmitted SYN before any reply');
  assert.equal(ctOn(t, synAck).flags, '+trk+est+rpl');
  assert.equal(ctOn(t, { ...syn, segment: 'data' }).flags, '+trk+est');
  assert.equal(ctOn(t, reverseFrame(syn, 'data')).flags, '+trk+est+rpl');
});

test('commit stores only new connections, never invalid ones', () => {
  const t = newConntrackTable();
  ctOn(t, synAck, 0, true);
  assert.equal(t.entries.size, 0);
  ctOn(t, udp, 0, true);
  ctOn(t, udp, 0, true);
  assert.equal(t.entries.size, 1);
});

test('entries are per zone: a reply looked up in another zone finds nothing', () => {
  const t = newConntrackTable();
  ctOn(t, syn, 1, true);
  assert.equal(ctOn(t, synAck, 0).flags, '+trk+inv');
  assert.equal(ctOn(t, synAck, 1).flags, '+trk+est+rpl');
});

test('IPv6 addresses are compared by value, not by spelling', () => {
  const t = newConntrackTable();
  const v6: IpFrame = { ...udp, ethertype: 'ipv6', src: 'fd00::1', dst: 'fd00::2' };
  ctOn(t, v6, 0, true);
  assert.equal(ctOn(t, { ...reverseFrame(v6), src: 'fd00:0:0:0:0:0:0:2' }).flags, '+trk+est+rpl');
});

test('a ct in the same zone reuses the cached ct info without a lookup', () => {
  const t = newConntrackTable();
  const first = ctOn(t, syn, 0, true);
  ctOn(t, synAck); // the table now says "reply seen"
  assert.equal(ctOn(t, syn).flags, '+trk+est', 'a fresh lookup would see est');
  assert.equal(ctOn(t, first.skb, 0).flags, '+trk+new', 'the cached skb keeps its flags');
});

test('a ct in another zone drops the cached info and looks up again', () => {
  const t = newConntrackTable();
  const first = ctOn(t, syn, 0, true);
  const other = ctOn(t, first.skb, 5);
  assert.equal(other.flags, '+trk+new');
  assert.equal(other.skb.ct?.zone, 5);
  ctOn(t, other.skb, 5, true);
  assert.equal(t.entries.size, 2, 'committed in zone 5 too');
});

test('a cached new connection is committed by a later ct commit', () => {
  const t = newConntrackTable();
  const first = ctOn(t, syn); // tracked, not committed
  assert.equal(t.entries.size, 0);
  ctOn(t, first.skb, 0, true);
  assert.equal(t.entries.size, 1);
  assert.equal(ctOn(t, synAck).flags, '+trk+est+rpl');
});

test('act_ct drops frames that are not IPv4/IPv6 tagged once or untagged: non-IP and QinQ (lab-verified)', () => {
  const t = newConntrackTable();
  for (const frame of [
    { encapsulation: 'untagged', ethertype: 'arp' },
    { encapsulation: '802.1Q', ethertype: 'arp' },
    { encapsulation: 'untagged', ethertype: 'other' },
  ] as Frame[]) {
    assert.equal(applyCt(t, skbOf(frame), 0, false).kind, 'drop');
  }
  assert.equal(applyCt(t, skbOf({ ...syn, encapsulation: '802.1Q' }), 0, false).kind, 'continue');
  // the inner tag of a QinQ frame still sits before the IP header: act_ct drops it
  assert.equal(applyCt(t, skbOf({ ...syn, encapsulation: '802.1ad' }), 0, false).kind, 'drop');
});

test('conntrack info crosses to the next hook; a bare invalid mark does not', () => {
  const t = newConntrackTable();
  const tracked = ctOn(t, syn).skb;
  assert.equal(acrossHooks(tracked), tracked);
  const invalid = ctOn(t, synAck).skb;
  assert.equal(ctFlagsOf(acrossHooks(invalid)), 0);
});

test('the port a frame entered through stays on the skb through ct and across hooks', () => {
  const t = newConntrackTable();
  const tracked = ctOn(t, skbOf(syn, 'repA')).skb;
  assert.equal(tracked.indev, 'repA');
  const untracked = ctOn(t, skbOf({ ...syn, segment: 'data', srcPort: 1 }, 'repA')).skb;
  assert.equal(acrossHooks(untracked).indev, 'repA');
  assert.equal(skbOf(syn).indev, undefined);
});
