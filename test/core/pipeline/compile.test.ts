// compile: golden programs (tc -batch text in test/golden/compile/*.txt, written by the
// cmdline driver's toBatchLines from the compiled filters in compile's own order) and the
// shape facts each one is there to show. Regenerate with UPDATE_GOLDEN=1 after a deliberate
// change, then read the diff.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DirectionRules, Grant, RuleSet } from '../../../core/model/rules.js';
import { actionsKey, type TcFilter } from '../../../core/model/tc.js';
import { compile, DEFAULT_COMPILE_OPTIONS, REPLY_STATE, type CompileOptions } from '../../../core/pipeline/compile.js';
import { formatNet, parseCidr, subtract } from '../../../core/model/cidr.js';
import { CHAIN_PREF, COVER_PREF, ENTRY_PREF, PORT_CHAIN_FIRST, VERDICT_CHAIN } from '../../../core/pipeline/layout.js';
import { newConntrackTable, skbOf } from '../../../core/tcmodel/conntrack.js';
import { runHook } from '../../../core/tcmodel/classify.js';
import { toBatchLines } from '../../../drivers/tc-cmdline/batch.js';
import { ClusterBuilder, mnp } from '../../fixtures/cluster-builder.js';
import { renderOf } from './rules-helpers.js';

const goldenDir = fileURLToPath(new URL('../../golden/compile/', import.meta.url));

function batch(filters: readonly TcFilter[]): string {
  const ops = [{ op: 'add-qdisc' as const }, ...filters.map((filter) => ({ op: 'add' as const, filter }))];
  return toBatchLines({ name: 'rep1' }, { ops }).join('\n') + '\n';
}

function golden(name: string, filters: readonly TcFilter[]): void {
  const path = `${goldenDir}${name}.txt`;
  const text = batch(filters);
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(path)) writeFileSync(path, text);
  assert.equal(text, readFileSync(path, 'utf8'), `${name}: compiled program differs from test/golden/compile/${name}.txt`);
}

const rs = (ingress: DirectionRules | null, egress: DirectionRules | null): RuleSet => ({ endpoint: 'ns1/pod/net1', network: 'ns1/net1', ingress, egress, diagnostics: [] });
const dir = (...grants: Grant[]): DirectionRules => ({ policies: ['ns1/p'], grants });
const grant = (peers: string[], ports: Grant['ports'] = 'all', rule = 0): Grant => ({ policy: 'ns1/p', rule, peers, ports });
const opts = (over: Partial<CompileOptions>): CompileOptions => ({ ...DEFAULT_COMPILE_OPTIONS, ...over });
/** `block` minus `holes`, as render writes an ipBlock with except. */
const subtracted = (block: string, ...holes: string[]): string[] => subtract(parseCidr(block)!, holes.map((h) => parseCidr(h)!)).map(formatNet);
const isCatchAllDrop = (f: TcFilter): boolean => f.protocol === 'all' && Object.keys(f.match).length === 0 && actionsKey(f.actions) === 'drop';
const isAllow = (f: TcFilter): boolean => f.chain === VERDICT_CHAIN && f.pref !== CHAIN_PREF.drop && f.match.icmpType === undefined && f.match.ctState !== REPLY_STATE;
const on = (fs: readonly TcFilter[], hook: TcFilter['hook'], chain?: number) => fs.filter((f) => f.hook === hook && (chain === undefined || f.chain === chain));

describe('golden programs', () => {
  test('no policy in either direction: no filters at all (no qdisc needed)', () => {
    assert.deepEqual(compile(rs(null, null)), { filters: [], diagnostics: [] });
  });

  test('deny-all ingress: the egress hook passes only replies and ARP/ND; the open ingress hook only commits', () => {
    const { filters, diagnostics } = compile(rs(dir(), null));
    golden('deny-all-ingress', filters);
    assert.deepEqual(diagnostics, []);
    const verdict = on(filters, 'egress', VERDICT_CHAIN);
    assert.deepEqual(verdict.filter(isAllow), [], 'replies, ND and the drop: no allow');
    assert.ok(on(filters, 'ingress').every((f) => f.chain === 0 && f.actions.map((a) => a.kind).join() === 'ct,pass' && f.actions[0]!.kind === 'ct' && f.actions[0]!.commit));
  });

  test('default deny both ways: no conntrack, no verdict chain; ARP and ND pass in chain 0, the rest drops there', () => {
    const { filters } = compile(rs(dir(), dir()));
    golden('deny-all-both', filters);
    assert.ok(filters.every((f) => f.chain === 0 && f.actions.every((a) => a.kind !== 'ct' && a.kind !== 'goto')));
    for (const hook of ['ingress', 'egress'] as const) {
      const mine = on(filters, hook);
      assert.deepEqual(mine.filter((f) => f.actions[0]!.kind === 'drop').map((f) => [f.pref, f.protocol, f.match]), [[ENTRY_PREF.dispatch, 'all', {}]]);
      // ARP and ND (135, 136) of each encapsulation: 3 + 6
      assert.equal(mine.filter((f) => actionsKey(f.actions) === 'pass').length, 9);
    }
  });

  test('allow-all egress: one allow per family and encapsulation, no port chain', () => {
    const { filters } = compile(rs(null, dir(grant(['0.0.0.0/0', '::/0']))));
    golden('allow-all-egress', filters);
    const verdict = on(filters, 'ingress', VERDICT_CHAIN).filter(isAllow);
    assert.equal(verdict.length, 6, '(ip, ipv6) x (untagged, 802.1Q, 802.1ad)');
    assert.ok(verdict.every((f) => f.match.dstIp === undefined), '/0 needs no address key');
    assert.ok(filters.every((f) => f.chain < PORT_CHAIN_FIRST));
  });

  test('upstream worked example (10.17.0.0/16 except 10.17.0.0/24, TCP 6666): one allow for the /16 after a new-connection drop of the /24; QinQ keeps disjoint prefixes', () => {
    const c = new ClusterBuilder()
      .nad('ns1/net1')
      .pod('ns1/target', { interfaces: [{ network: 'ns1/net1', ips: ['192.168.1.2'] }] })
      .policy(mnp('ns1/ipblock-policy', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'TCP', port: 6666 }], to: [{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }] }] }))
      .build();
    const { filters } = compile(renderOf(c));
    golden('upstream-ipblock-except', filters);
    const addressed = filters.filter((f) => f.match.dstIp !== undefined || f.match.srcIp !== undefined);
    // untagged and 802.1Q: the hole first (protocol pref), the whole block after it (cover pref)
    for (const protocol of ['ip', '802.1Q'] as const) {
      const mine = addressed.filter((f) => f.protocol === protocol);
      assert.deepEqual(
        mine.map((f) => `${f.pref} ${f.match.ctState} ${f.match.dstIp} ${f.match.ipProto ?? ''} ${f.match.dstPort?.start ?? ''} ${actionsKey(f.actions)}`),
        [`${CHAIN_PREF[protocol]} +trk+new 10.17.0.0/24   drop`, `${COVER_PREF[protocol]} +trk+new 10.17.0.0/16 tcp 6666 ct:0:commit|pass`],
        protocol,
      );
    }
    // QinQ has no cover pref: the /16 minus the /24 as 8 allow prefixes, nothing dropped by address
    const qinq = addressed.filter((f) => f.protocol === '802.1ad');
    assert.ok(qinq.every((f) => f.pref === CHAIN_PREF['802.1ad'] && actionsKey(f.actions) === 'pass'));
    assert.deepEqual(
      qinq.map((f) => f.match.dstIp),
      ['10.17.1.0/24', '10.17.128.0/17', '10.17.16.0/20', '10.17.2.0/23', '10.17.32.0/19', '10.17.4.0/22', '10.17.64.0/18', '10.17.8.0/21'],
    );
    // 1 port: a port chain would cost more than inlining
    assert.ok(filters.every((f) => f.chain <= VERDICT_CHAIN));
    // the new connections the grants decide, in every encapsulation
    for (const [dst, port, want] of [['10.17.0.9', 6666, 'drop'], ['10.17.1.9', 6666, 'pass'], ['10.17.255.1', 6666, 'pass'], ['10.17.1.9', 6667, 'drop'], ['10.18.0.1', 6666, 'drop']] as const) {
      for (const encapsulation of ['untagged', '802.1Q', '802.1ad'] as const) {
        const frame = { encapsulation, ethertype: 'ip' as const, src: '192.168.1.2', dst, l4: 'tcp' as const, srcPort: 40000, dstPort: port, segment: 'opening' as const };
        const run = runHook(filters, 'ingress', skbOf(frame), newConntrackTable());
        assert.ok(run.ok);
        assert.equal(run.value.verdict, want, `${encapsulation} ${dst}:${port}`);
      }
    }
  });

  test('a hole nobody allows is dropped only as a new connection: replies from it still pass', () => {
    // egress to 10.17.0.0/16 except 10.17.0.0/24, ingress open: a connection from 10.17.0.9 to the pod is allowed
    const { filters } = compile(rs(null, dir(grant(subtracted('10.17.0.0/16', '10.17.0.0/24'), [{ protocol: 'TCP', start: 6666, end: 6666 }]))), opts({ encapsulations: ['untagged'] }));
    const table = newConntrackTable();
    const opening = { encapsulation: 'untagged' as const, ethertype: 'ip' as const, src: '10.17.0.9', dst: '10.9.9.9', l4: 'tcp' as const, srcPort: 40000, dstPort: 22, segment: 'opening' as const };
    const inbound = runHook(filters, 'egress', skbOf(opening), table);
    assert.ok(inbound.ok && inbound.value.verdict === 'pass');
    const reply = { ...opening, src: '10.9.9.9', dst: '10.17.0.9', srcPort: 22, dstPort: 40000, segment: 'reply-opening' as const };
    const back = runHook(filters, 'ingress', skbOf(reply), table);
    assert.ok(back.ok);
    assert.equal(back.value.verdict, 'pass', 'the reply to 10.17.0.9 is +est, not a new connection into the hole');
  });

  test('4 peers x 4 ports in 3 encapsulations share one port chain (48 verdict filters become 12 jumps + 12 port filters)', () => {
    const ports = [
      { protocol: 'TCP' as const, start: 80, end: 80 },
      { protocol: 'TCP' as const, start: 5000, end: 5900 },
      { protocol: 'UDP' as const, start: 53, end: 53 },
      { protocol: 'SCTP' as const },
    ];
    const peers = ['10.0.0.2/32', '10.0.0.5/32', '10.0.0.9/32', '10.0.0.20/32'];
    const { filters } = compile(rs(null, dir(grant(peers, ports))));
    golden('port-chain', filters);
    const portChain = on(filters, 'ingress', PORT_CHAIN_FIRST);
    assert.equal(portChain.filter((f) => f.pref !== CHAIN_PREF.drop).length, 12, '4 port matches x 3 encapsulations');
    assert.ok(isCatchAllDrop(portChain.at(-1)!));
    const jumps = on(filters, 'ingress', VERDICT_CHAIN).filter((f) => f.actions.some((a) => a.kind === 'goto'));
    assert.equal(jumps.length, 12);
    assert.deepEqual([...new Set(jumps.map((f) => f.match.dstIp))].sort(), [...peers].sort());
    assert.ok(jumps.every((f) => f.actions.length === 1 && f.actions[0]!.kind === 'goto' && f.actions[0]!.chain === PORT_CHAIN_FIRST));
    assert.equal(on(filters, 'ingress', VERDICT_CHAIN).filter((f) => f.match.dstPort !== undefined).length, 0, 'no port inline');
  });

  test('a port chain is used as soon as it saves a filter, and not before', () => {
    const ports = (n: number) => [80, 443, 8080, 8443].slice(0, n).map((p) => ({ protocol: 'TCP' as const, start: p, end: p }));
    const peers = (n: number) => ['10.0.0.2/32', '10.0.0.5/32', '10.0.0.9/32', '10.0.0.20/32'].slice(0, n);
    const untagged = opts({ encapsulations: ['untagged'] });
    const chained = (p: number, q: number): boolean => compile(rs(null, dir(grant(peers(p), ports(q)))), untagged).filters.some((f) => f.chain >= PORT_CHAIN_FIRST);
    // inline p x q, chained p jumps + q ports + a drop
    assert.equal(chained(2, 2), false, '4 inline vs 5');
    assert.equal(chained(2, 3), false, '6 inline vs 6: a tie stays inline (one table less)');
    assert.equal(chained(3, 3), true, '9 inline vs 7');
    assert.equal(chained(2, 4), true, '8 inline vs 7');
    const { filters } = compile(rs(null, dir(grant(peers(3), ports(3)))), untagged);
    assert.equal(on(filters, 'ingress', VERDICT_CHAIN).filter((f) => f.actions.some((a) => a.kind === 'goto')).length, 3);
    assert.equal(on(filters, 'ingress', PORT_CHAIN_FIRST).length, 4);
  });

  test('different port sets get different port chains, numbered in a stable order', () => {
    const a = [1, 3, 5, 7, 9].map((p) => ({ protocol: 'TCP' as const, start: p, end: p }));
    const b = [1, 3, 5, 7, 9].map((p) => ({ protocol: 'UDP' as const, start: p, end: p }));
    const peers = ['10.0.0.2/32', '10.0.0.5/32', '10.0.0.9/32', '10.0.0.20/32'];
    const { filters } = compile(rs(null, dir(grant(peers, b, 1), grant(['10.1.0.2/32', '10.1.0.5/32', '10.1.0.9/32', '10.1.0.20/32'], a, 0))), opts({ encapsulations: ['untagged'] }));
    const chains = [...new Set(on(filters, 'ingress').map((f) => f.chain))];
    assert.deepEqual(chains, [0, VERDICT_CHAIN, PORT_CHAIN_FIRST, PORT_CHAIN_FIRST + 1]);
    // "TCP:1,3,5" sorts before "UDP:1,3,5": the TCP set gets the first port chain
    assert.ok(on(filters, 'ingress', PORT_CHAIN_FIRST).filter((f) => f.pref !== CHAIN_PREF.drop).every((f) => f.match.ipProto === 'tcp'));
  });

  test('stateless: no ct actions, no ct_state keys, the open hook gets nothing', () => {
    const ports = [{ protocol: 'TCP' as const, start: 80, end: 80 }, { protocol: 'SCTP' as const }, { protocol: 'UDP' as const, start: 53, end: 53 }];
    const { filters } = compile(rs(null, dir(grant(['10.0.0.2/32', '10.0.0.5/32', 'fd00::9/128'], ports))), opts({ stateful: false }));
    golden('stateless', filters);
    assert.ok(filters.every((f) => f.actions.every((a) => a.kind !== 'ct') && f.match.ctState === undefined));
    assert.deepEqual(on(filters, 'egress'), [], 'pod ingress is open: nothing on the egress hook');
    const dispatch = on(filters, 'ingress', 0).filter((f) => f.pref === ENTRY_PREF.dispatch);
    assert.deepEqual(dispatch.map((f) => [f.protocol, f.match, f.actions]), [['all', {}, [{ kind: 'goto', chain: VERDICT_CHAIN }]]]);
  });

  test('encapsulations subset: untagged only has no 802.1Q/802.1ad filters', () => {
    const { filters } = compile(rs(dir(grant(['10.0.0.0/24'], [{ protocol: 'TCP', start: 22, end: 22 }])), null), opts({ encapsulations: ['untagged'] }));
    golden('untagged-only', filters);
    assert.ok(filters.every((f) => f.protocol !== '802.1Q' && f.protocol !== '802.1ad'));
  });

  test('encapsulations subset: 802.1Q only has no untagged IP filters, but keeps the catch-all drops', () => {
    const { filters } = compile(rs(dir(grant(['10.0.0.0/24'], [{ protocol: 'TCP', start: 22, end: 22 }])), null), opts({ encapsulations: ['802.1Q'] }));
    golden('vlan-only', filters);
    assert.ok(filters.every((f) => f.protocol === '802.1Q' || f.protocol === 'all'));
    assert.ok(filters.some((f) => f.protocol === 'all' && f.actions[0]?.kind === 'drop'));
  });

  test('dual-stack ingress from pods: src_ip keys on the egress hook, ports stay dst_port', () => {
    const { filters } = compile(rs(dir(grant(['10.0.0.2/32', 'fd00::2/128'], [{ protocol: 'TCP', start: 8080, end: 8080 }])), dir()));
    golden('dual-stack-ingress', filters);
    const allowed = on(filters, 'egress', VERDICT_CHAIN).filter(isAllow);
    assert.ok(allowed.length > 0);
    assert.ok(allowed.every((f) => f.match.srcIp !== undefined && f.match.dstIp === undefined && f.match.dstPort?.start === 8080));
    assert.deepEqual([...new Set(allowed.map((f) => f.match.srcIp))].sort(), ['10.0.0.2/32', 'fd00::2/128']);
  });

  test('ct zone option is used by every ct action', () => {
    const { filters } = compile(rs(dir(grant(['10.0.0.2/32'])), null), opts({ ctZone: 7 }));
    const zones = filters.flatMap((f) => f.actions.flatMap((a) => (a.kind === 'ct' ? [a.zone] : [])));
    assert.ok(zones.length > 0);
    assert.ok(zones.every((z) => z === 7));
  });
});

describe('neighbour resolution and the entry chain', () => {
  for (const stateful of [true, false]) {
    test(`${stateful ? 'stateful' : 'stateless'}: ARP of every encapsulation passes in the entry chain before anything meets conntrack`, () => {
      const { filters } = compile(rs(dir(grant(['10.0.0.2/32'])), dir()), opts({ stateful }));
      for (const hook of ['ingress', 'egress'] as const) {
        const entry = on(filters, hook, 0);
        const arp = entry.filter((f) => f.protocol === 'arp' || f.match.vlanEthType === 'arp' || f.match.cvlanEthType === 'arp');
        assert.deepEqual(arp.map((f) => [f.protocol, actionsKey(f.actions)]), [['arp', 'pass'], ['802.1Q', 'pass'], ['802.1ad', 'pass']]);
        const firstCt = Math.min(...entry.filter((f) => f.actions.some((a) => a.kind === 'ct')).map((f) => f.pref));
        assert.ok(arp.every((f) => f.pref < firstCt));
        assert.ok(entry.every((f) => f.pref >= ENTRY_PREF.neighbour.arp));
      }
    });
  }

  test('stateful: ND of untagged and 802.1Q frames passes in the verdict chain as untracked (+trk+inv) ICMPv6 135/136', () => {
    const { filters } = compile(rs(dir(), null));
    const nd = on(filters, 'egress', VERDICT_CHAIN).filter((f) => f.match.icmpType !== undefined);
    assert.deepEqual(
      nd.map((f) => `${f.pref} ${f.protocol} ${f.match.vlanEthType ?? ''} ${f.match.ctState} ${f.match.icmpType}`),
      [`${CHAIN_PREF.ipv6} ipv6  +trk+inv 135`, `${CHAIN_PREF.ipv6} ipv6  +trk+inv 136`, `${CHAIN_PREF['802.1Q']} 802.1Q ipv6 +trk+inv 135`, `${CHAIN_PREF['802.1Q']} 802.1Q ipv6 +trk+inv 136`],
    );
    assert.ok(nd.every((f) => actionsKey(f.actions) === 'pass'));
  });

  test('QinQ (act_ct cannot parse it) goes to the verdict chain untracked; its ND passes at the entry; its allows are plain pass', () => {
    const { filters } = compile(rs(dir(grant(['10.0.0.2/32'], [{ protocol: 'TCP', start: 80, end: 80 }])), null));
    const entry = on(filters, 'egress', 0).filter((f) => f.protocol === '802.1ad');
    assert.ok(entry.some((f) => f.match.icmpType === 135 && actionsKey(f.actions) === 'pass'));
    assert.ok(entry.filter((f) => f.match.cvlanEthType === 'ip' || (f.match.cvlanEthType === 'ipv6' && f.match.icmpType === undefined)).every((f) => actionsKey(f.actions) === `goto:${VERDICT_CHAIN}`));
    const allows = on(filters, 'egress', VERDICT_CHAIN).filter((f) => f.protocol === '802.1ad' && isAllow(f));
    assert.ok(allows.length > 0);
    assert.ok(allows.every((f) => f.match.ctState === undefined && actionsKey(f.actions) === 'pass'));
  });

  test('every IP frame of untagged and 802.1Q traffic meets ct at the entry without a ct_state test (double-ct bypass)', () => {
    const { filters } = compile(rs(dir(grant(['10.0.0.2/32'])), dir()));
    for (const hook of ['ingress', 'egress'] as const) {
      const entry = on(filters, hook, 0);
      assert.ok(entry.every((f) => f.match.ctState === undefined));
      const ct = entry.filter((f) => f.actions.some((a) => a.kind === 'ct'));
      assert.deepEqual(ct.map((f) => [f.protocol, f.match, f.actions]), [['all', {}, [{ kind: 'ct', zone: 0, commit: false }, { kind: 'goto', chain: VERDICT_CHAIN }]]]);
      assert.equal(ct[0]!.pref, Math.max(...entry.map((f) => f.pref)), 'the ct dispatch is the last entry filter: nothing falls off chain 0');
    }
  });

  test('stateless: ARP and ND pass at the entry and everything else goes to the verdict chain', () => {
    const { filters } = compile(rs(dir(grant(['10.0.0.2/32'])), null), opts({ stateful: false }));
    const entry = on(filters, 'egress', 0);
    assert.equal(entry.at(-1)!.pref, ENTRY_PREF.dispatch);
    assert.deepEqual([entry.at(-1)!.protocol, entry.at(-1)!.match, entry.at(-1)!.actions], ['all', {}, [{ kind: 'goto', chain: VERDICT_CHAIN }]]);
    assert.equal(entry.filter((f) => f.match.icmpType !== undefined).length, 6, '135 and 136 in three encapsulations');
  });
});

describe('limits', () => {
  test('more distinct shared port sets than port chains: the last ones are inlined, with a diagnostic, and stay correct', () => {
    // 1000 groups of four /32 peers and five TCP ports each: every group would like a port chain
    const grants: Grant[] = [];
    for (let g = 0; g < 1000; g++) {
      const peers = [1, 66, 131, 196].map((h) => `10.${g >> 8}.${g & 255}.${h}/32`); // far apart: no cover pays
      const ports = [0, 1, 2, 3, 4].map((i) => ({ protocol: 'TCP' as const, start: 20 * g + 2 * i + 1, end: 20 * g + 2 * i + 1 }));
      grants.push(grant(peers, ports, g));
    }
    const { filters, diagnostics } = compile(rs(null, dir(...grants)), opts({ encapsulations: ['untagged'] }));
    assert.deepEqual(diagnostics.map((d) => d.id), ['too-many-port-chains']);
    const chains = new Set(filters.map((f) => f.chain));
    assert.equal(chains.size, 2 + 999, 'entry, verdict and chains 10001..10999');
    assert.ok(!chains.has(11000));
    const inlined = filters.filter((f) => f.chain === VERDICT_CHAIN && f.match.dstPort !== undefined);
    assert.equal(inlined.length, 4 * 5, 'one group left: four peers x five ports inline');
  });
});
