// Kernel replies → canonical TC objects. The golden pairs (test/golden/netlink/dumps.json)
// hold, for each device state captured in the lab, the kernel's raw replies to our dumps
// and `tc -j` of the same device: the netlink reader must produce exactly the objects the
// cmdline driver's parse.ts makes of tc's JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcFilter } from '../../../core/model/tc.js';
import { parseFilters, parseQdiscs } from '../../../drivers/tc-cmdline/parse.js';
import { NlWriter } from '../../../drivers/tc-netlink/attr.js';
import { NLMSG_HDRLEN, TCMSG_LEN } from '../../../drivers/tc-netlink/constants.js';
import { decodeFilterDump, decodeLink, decodeQdiscDump } from '../../../drivers/tc-netlink/decode.js';
import { encodeOp } from '../../../drivers/tc-netlink/encode.js';
import { splitMessages, type NlMsg } from '../../../drivers/tc-netlink/message.js';
import { dataMessages, dump, dumps, hexBuffers, reply } from './golden.js';

/** tc prints a masked ICMP type ("8/15") that parse.ts refuses; the netlink reader lists it as unrecognised. */
const maskedIcmp = (e: unknown): boolean => (e as { options?: { keys?: { icmp_type?: string } } }).options?.keys?.icmp_type?.includes('/') === true;

for (const d of dumps()) {
  test(`golden "${d.name}" (${d.description}): the netlink reader's objects equal parse.ts's of tc -j`, () => {
    const q = decodeQdiscDump(dataMessages(d.qdisc), d.ifindex);
    const want = parseQdiscs(d.tcJson.qdisc, 'golden');
    assert.ok(q.ok && want.ok);
    assert.equal(q.value, want.value);
    for (const hook of ['ingress', 'egress'] as const) {
      if (hook === 'egress' && want.value !== 'clsact') continue; // no egress hook to read
      const got = decodeFilterDump(dataMessages(d[hook]), hook);
      const expected = parseFilters((d.tcJson[hook] as unknown[]).filter((e) => !maskedIcmp(e)), hook, 'golden');
      assert.ok(got.ok, !got.ok ? got.problem : '');
      assert.ok(expected.ok, !expected.ok ? JSON.stringify(expected.error) : '');
      const owned = got.value.owned.filter((f) => !(f.match.unrecognised ?? '').startsWith('icmp_type='));
      assert.deepEqual(owned, expected.value.owned);
      assert.equal(got.value.foreign, expected.value.foreign);
    }
  });
}

test('the goldens cover ownership: foreign flower, u32 (with its hash-table entry), matchall in and out of owned chains, both hooks', () => {
  const d = dump('oddities-and-foreign');
  const ingress = decodeFilterDump(dataMessages(d.ingress), 'ingress');
  const egress = decodeFilterDump(dataMessages(d.egress), 'egress');
  assert.ok(ingress.ok && egress.ok);
  // flower at pref 100 and 101, u32 (hash table + filter), matchall chain 7, matchall chain 10000, plus
  // the filter of an unnamed protocol (0x88cc) inside the owned chain
  assert.equal(ingress.value.foreign, 7);
  assert.equal(egress.value.foreign, 3);
  assert.deepEqual(egress.value.owned.map((f) => [f.chain, f.pref, f.match.dstIp]), [[10000, 2, '10.1.0.1/32']]);
});

const at = (pref: number): TcFilter => {
  const r = decodeFilterDump(dataMessages(dump('oddities-and-foreign').ingress), 'ingress');
  assert.ok(r.ok);
  const f = r.value.owned.find((x) => x.chain === 10000 && x.pref === pref);
  assert.ok(f, `pref ${pref}`);
  return f;
};

test('oddities: keys the agent never emits are listed in match.unrecognised next to the keys it knows', () => {
  assert.deepEqual(at(13).match, { indev: 'nlpeer4' }, 'indev is a key of the model (shared blocks)');
  assert.deepEqual(at(15).match, { ipProto: 'tcp', unrecognised: 'dst_port=5000/fff8' });
  assert.deepEqual(at(16).match, { ipProto: 'icmp', icmpType: 8, unrecognised: 'icmp_code="0"' });
  assert.deepEqual(at(17).match, { unrecognised: 'ip_flags={"frag":true}' });
  assert.deepEqual(at(18).match, { vlanEthType: 'ip', unrecognised: 'vlan_id=100' });
  assert.deepEqual(at(25).match, { unrecognised: 'ip_proto="47"' });
  assert.deepEqual(at(31).match, { ipProto: 'icmp', unrecognised: 'icmp_type="8/15"' });
  assert.deepEqual(at(34).match, { ipProto: 'udp', unrecognised: 'src_port={"start":1000,"end":2000}' });
});

test('oddities: actions the agent never emits (ct force/mark/label/nat/clear, continue, reclassify, jump, mirred) and a classid read as no actions', () => {
  for (const pref of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 22]) assert.deepEqual(at(pref).actions, [], `pref ${pref}`);
  assert.deepEqual(at(12).match, { dstIp: '10.0.0.1/32' }, 'a classid leaves the keys intact');
  assert.deepEqual(at(24).actions, [{ kind: 'ct', zone: 0, commit: false }, { kind: 'goto', chain: 5 }]);
  assert.deepEqual(at(35).actions, [{ kind: 'pass' }, { kind: 'drop' }]);
});

test('VLAN shapes: 802.1Q without vlan_ethtype has none; QinQ inner types; an 802.1ad inner tag type is unrecognised', () => {
  assert.deepEqual([at(27).protocol, at(27).match], ['802.1Q', {}]);
  assert.deepEqual(at(28).match, { vlanEthType: '802.1Q' });
  assert.deepEqual(at(29).match, { unrecognised: 'vlan_ethtype="802.1ad"' });
  assert.deepEqual(at(30).match, { vlanEthType: '802.1Q', cvlanEthType: 'ip' });
});

test('an IPv6 prefix with host bits set reads as its canonical network, as parse.ts reads tc\'s text', () => {
  assert.deepEqual(at(26).match, { dstIp: '2001:db8::/64' });
});

test('the qdisc dump lists every device: only the asked ifindex counts, and a plain ingress qdisc reads as ingress', () => {
  const d = dump('plain-ingress');
  const msgs = dataMessages(d.qdisc);
  assert.ok(msgs.length > 2, 'other devices are in the dump');
  assert.deepEqual(decodeQdiscDump(msgs, d.ifindex), { ok: true, value: 'ingress' });
  assert.deepEqual(decodeQdiscDump(msgs, 999999), { ok: true, value: null });
});

test('RTM_NEWLINK: the ifindex and name', () => {
  const [m] = hexBuffers(reply('getlink').datagrams).flatMap(splitMessages);
  const r = decodeLink(m!);
  assert.ok(r.ok);
  assert.equal(r.value.name, 'nlerr0');
  assert.equal(r.value.ifindex, reply('getlink').ifindex);
});

// ---- malformed replies: a clear problem naming the filter and the field, never an exception

const filter: TcFilter = { hook: 'ingress', chain: 10000, pref: 2, protocol: 'ip', match: { ctState: '+trk+new', ipProto: 'tcp', dstIp: '10.0.0.0/24', dstPort: { start: 80, end: 80 } }, actions: [{ kind: 'ct', zone: 0, commit: true }, { kind: 'pass' }] };

/** A filter message as the kernel would dump it (the request's attributes, with a handle). */
function message(f: TcFilter, handle: number, edit?: (b: Buffer) => void): NlMsg {
  const w = new NlWriter();
  encodeOp(w, { op: 'replace', filter: { ...f, handle } }, 3, 1, false);
  const b = Buffer.from(w.finish());
  edit?.(b);
  return splitMessages(b)[0]!;
}

/** The absolute offset of the attribute reached by following `path` (types) from the tcmsg's attributes. */
function offsetOf(b: Buffer, path: readonly number[]): number {
  let start = NLMSG_HDRLEN + TCMSG_LEN;
  let end = b.length;
  let found = -1;
  for (const type of path) {
    found = -1;
    for (let o = start; o + 4 <= end; o += (b.readUInt16LE(o) + 3) & ~3) {
      if ((b.readUInt16LE(o + 2) & 0x3fff) === type) {
        found = o;
        break;
      }
    }
    if (found < 0) throw new Error(`no attribute ${path.join('/')}`);
    start = found + 4;
    end = found + b.readUInt16LE(found);
  }
  return found;
}

test('a well-formed message reads back as the filter it encodes', () => {
  const r = decodeFilterDump([message(filter, 7)], 'ingress');
  assert.deepEqual(r, { ok: true, value: { owned: [{ ...filter, handle: 7 }], foreign: 0 } });
});

test('malformed: a flower filter without a handle', () => {
  assert.deepEqual(decodeFilterDump([message(filter, 1, (b) => b.writeUInt32LE(0, NLMSG_HDRLEN + 8))], 'ingress'), { ok: false, problem: 'ingress filter (chain 10000 pref 2 handle 0): a flower filter without a handle' });
});

test('malformed: an address of the wrong length names the filter and the field', () => {
  const r = decodeFilterDump([message(filter, 1, (b) => b.writeUInt16LE(7, offsetOf(b, [2, 12])))], 'ingress'); // TCA_OPTIONS / IPV4_DST of 3 bytes
  assert.deepEqual(r, { ok: false, problem: 'ingress filter (chain 10000 pref 2 handle 1): dst_ip: 3 bytes, expected 4' });
});

test('malformed: an action without a kind', () => {
  const r = decodeFilterDump([message(filter, 1, (b) => b.writeUInt16LE(99, offsetOf(b, [2, 3, 1, 1]) + 2))], 'ingress'); // OPTIONS / ACT / 1 / KIND → type 99
  assert.deepEqual(r, { ok: false, problem: 'ingress filter (chain 10000 pref 2 handle 1): actions[0] (order 1) has no kind' });
});

test('malformed: a message shorter than a tcmsg, and a message that is no filter', () => {
  const short = { type: 44, flags: 2, seq: 1, pid: 1, payload: Buffer.alloc(12) };
  assert.deepEqual(decodeFilterDump([short], 'egress'), { ok: false, problem: 'egress filter message: 12 bytes, shorter than a tcmsg' });
  assert.deepEqual(decodeFilterDump([{ ...short, type: 36 }], 'egress'), { ok: false, problem: 'message type 36 in a filter dump' });
  assert.deepEqual(decodeQdiscDump([{ ...short, type: 36 }], 1), { ok: false, problem: 'qdisc message: 12 bytes, shorter than a tcmsg' });
});

test('every truncation of every captured filter message decodes or is a named problem, never an exception', () => {
  let n = 0;
  for (const d of dumps()) {
    for (const m of dataMessages(d.ingress).slice(0, 40)) {
      for (let cut = 0; cut < m.payload.length; cut++) {
        n++;
        const r = decodeFilterDump([{ ...m, payload: m.payload.subarray(0, cut) }], 'ingress');
        if (!r.ok) assert.ok(r.problem.length > 0);
      }
    }
  }
  assert.ok(n > 10_000, `${n} cuts`);
});
