// Shared blocks against the lab captures in test/golden/netlink/block.json: the requests tc
// sends for the cmdline driver's block lines (binds, compiled block programs with indev, a
// replace, a delete) are byte for byte what the encoder writes, and the kernel's replies to
// our block, port and qdisc dumps read as parse.ts reads `tc -j` of the same state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlanOp } from '../../../core/model/plan.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { toBatchOpLines } from '../../../drivers/tc-cmdline/batch.js';
import { countFilters, parseFilters, parsePortQdisc } from '../../../drivers/tc-cmdline/parse.js';
import { portBinding, type PortQdisc } from '../../../drivers/shared/port-binding.js';
import { NlWriter } from '../../../drivers/tc-netlink/attr.js';
import { NLM_F, NLMSG, RTM, TCM_IFINDEX_MAGIC_BLOCK } from '../../../drivers/tc-netlink/constants.js';
import { decodeFilterDump, decodePortQdiscs } from '../../../drivers/tc-netlink/decode.js';
import { encodeDumpFilters, encodeOp } from '../../../drivers/tc-netlink/encode.js';
import { readStatus, splitMessages } from '../../../drivers/tc-netlink/message.js';
import { blockGolden, dataMessages, hexBuffers } from './golden.js';

const g = blockGolden();
const hex = (build: (w: NlWriter) => void): string => {
  const w = new NlWriter(16);
  build(w);
  return w.finish().toString('hex');
};
const seqOf = (h: string): number => Buffer.from(h, 'hex').readUInt32LE(8);

test('every captured block request (8 binds, a replacing bind, 290 filters of two compiled block programs, 10 hand-written shapes, a replace, a delete) is what the encoder writes', () => {
  assert.ok(g.requests.length >= 300, `${g.requests.length} vectors`);
  for (const r of g.requests) {
    const dev = { name: `block:${r.block.index}`, block: r.block };
    assert.equal(r.exitCode, 0, r.lines.join('; '));
    assert.deepEqual(r.lines, toBatchOpLines(dev, { ops: [r.op] })[0], 'the vector is still what the cmdline driver writes');
    const op = r.op;
    if (op.op === 'bind') {
      // a replacing bind is two requests: the port's clsact deleted, then the port bound
      const want = [...(op.replace ? [hex((w) => encodeOp(w, { op: 'delete-qdisc' }, r.ifindex, seqOf(r.requests[0]!), true))] : []), hex((w) => encodeOp(w, op, r.ifindex, seqOf(r.requests[r.requests.length - 1]!), true, r.block.index))];
      assert.deepEqual(want, r.requests, r.lines.join('; '));
    } else {
      // the filter requests of a block ignore the ifindex argument: TCM_IFINDEX_MAGIC_BLOCK goes out
      assert.equal(hex((w) => encodeOp(w, op, 12345, seqOf(r.requests[0]!), true, r.block.index)), r.requests[0], r.lines[0]);
    }
  }
});

test('the block vectors cover indev with each entry and SOURCE shape, ct with and without commit, goto, drop, and every block op kind', () => {
  const filters = g.requests.flatMap((r) => ('filter' in r.op ? [r.op.filter as TcFilter] : []));
  const has = (p: (f: TcFilter) => boolean, what: string) => assert.ok(filters.some(p), what);
  has((f) => f.chain === 0 && f.protocol === 'all' && f.match.indev !== undefined && f.actions[0]?.kind === 'ct', 'chain 0: every frame of a port to conntrack');
  has((f) => f.protocol === '802.1ad' && f.match.indev !== undefined && f.match.cvlanEthType !== undefined, 'QinQ from a port, untracked');
  has((f) => f.match.indev?.length === 15, 'the longest indev name');
  has((f) => f.match.indev !== undefined && f.match.dstMac !== undefined, 'indev and dst_mac');
  has((f) => f.match.dstMac !== undefined && f.match.dstPort !== undefined, 'dst_mac with IP keys');
  has((f) => f.chain === 10000 && f.match.indev !== undefined && f.match.dstIp !== undefined && f.match.ctState === '+trk+new', 'SOURCE: indev + ct_state + dst_ip');
  has((f) => f.chain === 10000 && f.match.indev !== undefined && f.match.ctState === undefined, 'SOURCE, stateless: indev without ct_state');
  has((f) => f.actions.some((a) => a.kind === 'ct' && a.zone === 65535 && !a.commit), 'ct zone 65535 without commit');
  has((f) => f.chain === 10001 && f.actions.some((a) => a.kind === 'ct' && a.commit), 'DESTINATION: ct commit');
  has((f) => f.chain === 10001 && f.match.dstIp !== undefined && f.actions[0]?.kind === 'drop', 'DESTINATION: isolated pod drop');
  assert.deepEqual([...new Set(g.requests.map((r) => r.op.op + ('replace' in r.op && r.op.replace ? '+replace' : '')))].sort(), ['add', 'bind', 'bind+replace', 'delete', 'replace']);
});

test('a block dump is the filter dump tc sends for `tc filter show block N` (after a qdisc dump of its own)', () => {
  const sent = g.show.sent.map((h) => splitMessages(Buffer.from(h, 'hex'))[0]!);
  assert.deepEqual(sent.map((m) => m.type), [RTM.GETQDISC, RTM.GETTFILTER]);
  const tc = g.show.sent[1]!;
  assert.equal(hex((w) => encodeDumpFilters(w, 0, 'ingress', seqOf(tc), undefined, g.dumps.block)), tc);
  const m = sent[1]!;
  assert.deepEqual([m.flags, m.payload.readUInt32LE(4), m.payload.readUInt32LE(12)], [NLM_F.REQUEST | NLM_F.DUMP, TCM_IFINDEX_MAGIC_BLOCK, g.dumps.block]);
});

test("the block dump reads as parse.ts reads `tc -j filter show block N`: the program's filters, and matchall + a chain 7 flower as foreign", () => {
  const got = decodeFilterDump(dataMessages(g.dumps.filters), 'ingress');
  const want = parseFilters(g.dumps.filtersJson, 'ingress', 'golden');
  assert.ok(got.ok, !got.ok ? got.problem : '');
  assert.ok(want.ok);
  assert.deepEqual(got.value.owned, want.value.owned);
  assert.equal(got.value.foreign, want.value.foreign);
  assert.equal(got.value.foreign, 2);
  const gone: TcFilter = { hook: 'ingress', chain: 10000, pref: 7, protocol: 'ip', match: { dstIp: '10.9.0.0/16' }, actions: [{ kind: 'drop' }] };
  assert.deepEqual(got.value.owned.map(filterKey).sort(), [...g.dumps.installed, gone].map(filterKey).sort());
  assert.ok(got.value.owned.filter((f) => f.match.indev !== undefined).length > 60, 'indev filters read back with their port');
});

test('a filter whose indev device was deleted is dumped without indev: it reads as matching frames from every port', () => {
  const before = (g.dumps.goneBefore as { options?: { indev?: string } }[]).find((e) => e.options)!;
  assert.equal(before.options!.indev, 'nlgone');
  const got = decodeFilterDump(dataMessages(g.dumps.filters), 'ingress');
  assert.ok(got.ok);
  assert.deepEqual(got.value.owned.find((f) => f.chain === 10000 && f.pref === 7)!.match, { dstIp: '10.9.0.0/16' });
});

test('ports: the qdisc dump gives each port its clsact/ingress qdisc and ingress block as parse.ts reads tc -j, and every binding state', () => {
  const ports = g.dumps.ports;
  const qdiscs = decodePortQdiscs(dataMessages(g.dumps.qdisc), ports.map((p) => p.ifindex));
  assert.ok(qdiscs.ok, !qdiscs.ok ? qdiscs.problem : '');
  const states: Record<string, string> = {};
  for (const p of ports) {
    const want = parsePortQdisc(p.tcJson.qdisc, p.name);
    assert.ok(want.ok);
    const q: PortQdisc | null = qdiscs.value.get(p.ifindex) ?? null;
    assert.deepEqual(q, want.value, p.name);
    // the filters on the port's own hooks (kept for unbound ports only: a bound port's hooks list the block's)
    let count = 0;
    let tcCount = 0;
    for (const hook of ['ingress', 'egress'] as const) {
      const raw = p[hook];
      if (raw === undefined) continue;
      const d = decodeFilterDump(dataMessages(raw), hook);
      assert.ok(d.ok);
      count += d.value.owned.length + d.value.foreign;
      const c = countFilters(p.tcJson[hook], hook, p.name);
      assert.ok(c.ok);
      tcCount += c.value;
    }
    assert.equal(count, tcCount, `${p.name}: filter count`);
    const b = portBinding(p.name, g.dumps.block, q, count);
    states[p.name] = `${b.state}${b.detail ? ` (${b.detail})` : ''}`;
  }
  assert.deepEqual(states, {
    eth5: 'bound', eth6: 'bound', eth7: 'bound', eth8: 'bound', eth9: 'bound', uplink: 'bound', nlrebind: 'bound',
    nlempty: 'rebindable',
    nlbusy: 'foreign (clsact carrying 1 filter(s) of others)',
    nlingress: 'foreign (an ingress qdisc)',
    nlother: 'foreign (clsact with ingress_block 7)',
    nlnone: 'absent',
  });
});

const replyOf = (name: string) => {
  const r = g.replies.find((x) => x.name === name);
  assert.ok(r, name);
  return hexBuffers(r.datagrams).flatMap(splitMessages);
};

test('kernel replies: a dump of a block nobody uses is empty (no error); refusals carry errno and extended ACK text', () => {
  const missing = replyOf('dump-missing-block');
  assert.deepEqual([missing.length, missing[0]!.type, readStatus(missing[0]!).errno], [1, NLMSG.DONE, 0]);
  const refused = (name: string) => {
    const [m] = replyOf(name);
    const s = readStatus(m!);
    return `${s.errno} ${s.message}`;
  };
  assert.equal(refused('filter-add-through-port'), '95 This filter block is shared. Please use the block index to manipulate the filters');
  assert.equal(refused('filter-add-missing-block'), '22 Block of given index was not found');
  assert.equal(refused('filter-add-missing-indev'), '19 Network device not found');
  for (const name of ['bind-bound-port', 'bind-clsact-port', 'bind-ingress-port']) assert.equal(refused(name), '17 Exclusivity flag on, cannot modify', name);
});

test('block targets in the encoder: filters only on the ingress side, qdisc ops and binds without a block are bugs, indev must be an interface name', () => {
  const f: TcFilter = { hook: 'ingress', chain: 0, pref: 10000, protocol: 'arp', match: {}, actions: [{ kind: 'pass' }] };
  const enc = (op: PlanOp, block?: number) => () => encodeOp(new NlWriter(), op, 1, 1, true, block);
  assert.throws(enc({ op: 'add', filter: { ...f, hook: 'egress' } }, 7), /an egress filter on shared block 7/);
  assert.throws(enc({ op: 'add-qdisc' }, 7), /add-qdisc on shared block 7/);
  assert.throws(enc({ op: 'bind', port: 'p1', replace: false }), /a bind of p1 without a shared block/);
  assert.throws(enc({ op: 'add', filter: f }, 0), /block index 0 is not an integer in 1..4294967295/);
  assert.throws(enc({ op: 'add', filter: { ...f, match: { indev: 'a/b' } } }, 7), /indev "a\/b" is not a valid interface name/);
  assert.throws(enc({ op: 'add', filter: { ...f, match: { indev: 'sixteen-chars-xx' } } }, 7), /not a valid interface name/);
});
