// compile's filter economies, each against the semantics it must keep (through the kernel
// model, core/tcmodel): covers with their holes dropped first, port chains whenever they
// save a filter, no reply filters where no connection can exist, and a pod isolated both
// ways with nothing allowed compiled without conntrack.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatNet, parseCidr, subtract } from '../../../core/model/cidr.js';
import type { L4Protocol } from '../../../core/model/k8s.js';
import type { DirectionRules, Grant, PortSpec, RuleSet } from '../../../core/model/rules.js';
import { actionsKey, type TcFilter } from '../../../core/model/tc.js';
import { ALL_ENCAPSULATIONS, compile, DEFAULT_COMPILE_OPTIONS, grantFilters, HOOK_OF, PortChains, REPLY_STATE, allowActions, type CompileOptions } from '../../../core/pipeline/compile.js';
import { CHAIN_PREF, COVER_PREF, PORT_CHAIN_FIRST, OWNED_CHAIN_LAST, VERDICT_CHAIN } from '../../../core/pipeline/layout.js';
import { runHook } from '../../../core/tcmodel/classify.js';
import { newConntrackTable, skbOf, type ConntrackTable } from '../../../core/tcmodel/conntrack.js';
import type { Encapsulation, IpFrame } from '../../../core/tcmodel/packet.js';
import { checkProgram } from '../../../core/tcmodel/program-check.js';
import { encapsulations } from './arbitraries.js';
import { grantAllows } from './rules-helpers.js';

const rs = (ingress: DirectionRules | null, egress: DirectionRules | null): RuleSet => ({ endpoint: 'ns1/pod/net1', network: 'ns1/net1', ingress, egress, diagnostics: [] });
const dir = (...grants: Grant[]): DirectionRules => ({ policies: ['ns1/p'], grants });
const grant = (peers: string[], ports: Grant['ports'] = 'all', rule = 0): Grant => ({ policy: 'ns1/p', rule, peers, ports });
const tcp = (p: number, q = p): PortSpec => ({ protocol: 'TCP', start: p, end: q });
/** An ipBlock with except, as render writes it: the block minus its holes. */
const block = (cidr: string, ...except: string[]): string[] => subtract(parseCidr(cidr)!, except.map((e) => parseCidr(e)!)).map(formatNet);
const POD4 = '10.9.9.9';
const POD6 = 'fd09::9';

/** Runs one frame of a connection through a hook; `table` carries the conntrack state between frames. */
function verdict(filters: readonly TcFilter[], hook: 'ingress' | 'egress', frame: IpFrame, table: ConntrackTable = newConntrackTable()): 'pass' | 'drop' {
  const run = runHook(filters, hook, skbOf(frame), table);
  assert.ok(run.ok, JSON.stringify(run));
  return run.value.verdict;
}
const opening = (encapsulation: Encapsulation, src: string, dst: string, l4: 'tcp' | 'udp' | 'sctp', dstPort: number): IpFrame => ({
  encapsulation,
  ethertype: src.includes(':') ? 'ipv6' : 'ip',
  src,
  dst,
  l4,
  srcPort: 40000,
  dstPort,
  ...(l4 === 'udp' ? {} : { segment: 'opening' as const }),
});

describe('covers: an ipBlock except as a hole dropped before one allow for the block', () => {
  const grants = fc.array(
    fc.record({
      cidr: fc.constantFrom('10.0.0.0/24', '10.0.0.0/25', '10.0.0.128/26', '10.0.0.64/27'),
      except: fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 26, max: 32 })).map(([h, l]) => `10.0.0.${h}/${l}`), { maxLength: 3 }),
      ports: fc.oneof(fc.constant('all' as const), fc.array(fc.constantFrom(tcp(80), tcp(443), tcp(8000, 8100), { protocol: 'UDP' as const, start: 53, end: 53 }, { protocol: 'SCTP' as const }), { minLength: 1, maxLength: 3 })),
    }),
    { minLength: 1, maxLength: 4 },
  );
  const opts = fc.record({ stateful: fc.boolean(), ctZone: fc.constant(0), encapsulations }).map((o): CompileOptions => ({ ...DEFAULT_COMPILE_OPTIONS, ...o }));
  const PROBES: [L4Protocol, number][] = [['TCP', 80], ['TCP', 443], ['TCP', 8050], ['UDP', 53], ['SCTP', 9], ['TCP', 22]];

  test('property: every address of the block gets exactly what the grants allow, in both directions and every encapsulation', () => {
    fc.assert(
      fc.property(grants, opts, fc.constantFrom('egress' as const, 'ingress' as const), (gs, o, direction) => {
        const d = dir(...gs.map((g, i) => grant(block(g.cidr, ...g.except.filter((e) => parseCidr(e)!.len > parseCidr(g.cidr)!.len)), g.ports, i)).filter((g) => g.peers.length > 0));
        const { filters } = compile(direction === 'egress' ? rs(null, d) : rs(d, null), o);
        assert.deepEqual(checkProgram(filters), [], 'the kernel would take it');
        const encap = o.encapsulations[0]!;
        for (let h = 0; h < 256; h += 3) {
          const peer = `10.0.0.${h}`;
          for (const [proto, port] of PROBES) {
            const want = d.grants.some((g) => grantAllows(g, peer, proto, port));
            const frame = direction === 'egress' ? opening(encap, POD4, peer, proto.toLowerCase() as 'tcp', port) : opening(encap, peer, POD4, proto.toLowerCase() as 'tcp', port);
            assert.equal(verdict(filters, HOOK_OF[direction], frame), want ? 'pass' : 'drop', `${direction} ${encap} ${peer} ${proto}/${port}`);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  test('the hole drop is keyed on a new connection and sits in the protocol pref; the cover allow after it', () => {
    const { filters } = compile(rs(null, dir(grant(block('10.17.0.0/16', '10.17.0.0/24'), [tcp(6666)]))), { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['untagged'] });
    const drops = filters.filter((f) => f.chain === VERDICT_CHAIN && f.match.dstIp !== undefined && actionsKey(f.actions) === 'drop');
    assert.deepEqual(drops.map((f) => [f.pref, f.match.ctState, f.match.dstIp]), [[CHAIN_PREF.ip, '+trk+new', '10.17.0.0/24']]);
    const covers = filters.filter((f) => f.pref === COVER_PREF.ip);
    assert.deepEqual(covers.map((f) => f.match.dstIp), ['10.17.0.0/16']);
    assert.ok(CHAIN_PREF.ip < COVER_PREF.ip && COVER_PREF['802.1Q'] < CHAIN_PREF.drop);
  });

  test('stateless: the hole drop has no conntrack key (there is no reply filter it could shadow)', () => {
    const { filters } = compile(rs(null, dir(grant(block('10.17.0.0/16', '10.17.0.0/24'), [tcp(6666)]))), { ...DEFAULT_COMPILE_OPTIONS, stateful: false, encapsulations: ['untagged'] });
    const drop = filters.find((f) => f.match.dstIp === '10.17.0.0/24');
    assert.ok(drop && drop.match.ctState === undefined && actionsKey(drop.actions) === 'drop');
  });

  test('a connection the pod accepts from inside a hole of its egress block gets its replies', () => {
    const { filters } = compile(rs(null, dir(grant(block('10.17.0.0/16', '10.17.0.0/24'), [tcp(6666)]))), { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['untagged', '802.1Q'] });
    for (const encapsulation of ['untagged', '802.1Q'] as const) {
      const table = newConntrackTable();
      const inbound = opening(encapsulation, '10.17.0.9', POD4, 'tcp', 22);
      assert.equal(verdict(filters, 'egress', inbound, table), 'pass', 'pod ingress is open');
      const reply: IpFrame = { ...inbound, src: POD4, dst: '10.17.0.9', srcPort: 22, dstPort: 40000, segment: 'reply-opening' };
      assert.equal(verdict(filters, 'ingress', reply, table), 'pass', `${encapsulation}: the reply into the hole is +est`);
      assert.equal(verdict(filters, 'ingress', opening(encapsulation, POD4, '10.17.0.9', 'tcp', 6666)), 'drop', `${encapsulation}: a new connection into the hole`);
    }
  });

  test('atoms that allow more than their cover keep only the rest, inline even where a port chain would pay, so the cover still answers', () => {
    // three /24 blocks on TCP 80 except a /28; in each a /26 also on 443, 8443, 9443
    const extra = [tcp(443), tcp(8443), tcp(9443)];
    const gs = ['10.1.0', '10.2.0', '10.3.0'].flatMap((b, i) => [grant(block(`${b}.0/24`, `${b}.0/28`), [tcp(80)], 2 * i), grant([`${b}.128/26`], extra, 2 * i + 1)]);
    const { filters } = compile(rs(null, dir(...gs)), { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['untagged'] });
    assert.ok(filters.every((f) => f.chain <= VERDICT_CHAIN), 'no port chain: its drop would stop port 80 before the cover');
    assert.equal(filters.filter((f) => f.match.dstIp === '10.2.0.128/26').length, 3, 'the /26 carries 443, 8443 and 9443 only');
    for (const [dst, port, want] of [['10.2.0.130', 80, 'pass'], ['10.2.0.130', 8443, 'pass'], ['10.2.0.20', 8443, 'drop'], ['10.2.0.20', 80, 'pass'], ['10.2.0.5', 80, 'drop']] as const) {
      assert.equal(verdict(filters, 'ingress', opening('untagged', POD4, dst, 'tcp', port)), want, `${dst}:${port}`);
    }
  });

  test('QinQ has no cover pref: its allows stay disjoint prefixes, and nothing else changes for it', () => {
    const { filters } = compile(rs(null, dir(grant(block('10.17.0.0/16', '10.17.0.0/24'), [tcp(6666)]))), { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['802.1ad'] });
    assert.ok(filters.every((f) => f.pref !== COVER_PREF.ip && f.pref !== COVER_PREF.ipv6 && f.pref !== COVER_PREF['802.1Q']));
    assert.equal(filters.filter((f) => f.protocol === '802.1ad' && f.match.dstIp !== undefined).length, 8);
  });
});

describe('port chains whenever they save filters', () => {
  test('with a port chain shared by several scopes (a shared block), covers must beat the plain layout even if its chains were free', () => {
    // six peers in a /29 with two holes, six ports: as atoms 4 jumps to a chain of 7; as a cover 6 inline + 2 holes
    const peers = ['10.3.0.1/32', '10.3.0.2/32', '10.3.0.3/32', '10.3.0.4/32', '10.3.0.5/32', '10.3.0.6/32'];
    const ports = [80, 443, 8080, 8443, 9090, 9443].map((p) => tcp(p));
    const opts: CompileOptions = { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['untagged'] };
    const scope = (users: 'single' | 'shared') => ({ hook: 'ingress' as const, chain: VERDICT_CHAIN, peerKey: 'dstIp' as const, own: () => [{}], allow: (v: Parameters<typeof allowActions>[1]) => allowActions(opts, v), tag: 't', portChains: new PortChains(PORT_CHAIN_FIRST, OWNED_CHAIN_LAST, users) });
    const single = grantFilters(dir(grant(peers, ports)), scope('single'), opts, []);
    assert.equal(single.length, 8, 'one scope: the cover (6 ports inline) and 2 holes beat 4 jumps + a chain of 7');
    assert.ok(single.every((f) => f.chain === VERDICT_CHAIN));
    const shared = scope('shared');
    const first = grantFilters(dir(grant(peers, ports)), shared, opts, []);
    const second = grantFilters(dir(grant(peers, ports)), { ...shared, own: () => [{ indev: 'rep-b' }] }, opts, []);
    assert.equal(first.length, 4 + 7, 'the first scope makes the chain');
    // the chain exists now: the next scope's cover jumps to it (1) beside its 2 holes, fewer than 4 jumps
    assert.equal(second.length, 3);
    assert.ok(second.some((f) => f.pref === COVER_PREF.ip && actionsKey(f.actions) === `goto:${PORT_CHAIN_FIRST}`));
  });
});

describe('no replies where no connection can exist', () => {
  const v4only = rs(dir(grant(['10.0.0.0/24'], [tcp(80)])), dir(grant(['10.1.0.0/24'], [tcp(443)])));

  test('isolated both ways with IPv4 grants only: no IPv6 reply filter on either hook, IPv4 replies still pass', () => {
    const { filters } = compile(v4only, { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['untagged', '802.1Q'] });
    const replies = filters.filter((f) => f.match.ctState === REPLY_STATE);
    assert.deepEqual(replies.map((f) => `${f.hook} ${f.protocol}`).sort(), ['egress 802.1Q', 'egress ip', 'ingress 802.1Q', 'ingress ip']);
    for (const encapsulation of ['untagged', '802.1Q'] as const) {
      const table = newConntrackTable();
      const out = opening(encapsulation, POD4, '10.1.0.7', 'tcp', 443);
      assert.equal(verdict(filters, 'ingress', out, table), 'pass');
      assert.equal(verdict(filters, 'egress', { ...out, src: '10.1.0.7', dst: POD4, srcPort: 443, dstPort: 40000, segment: 'reply-opening' }, table), 'pass', `${encapsulation} reply`);
    }
    // IPv6 neighbour discovery still passes
    const ns: IpFrame = { encapsulation: 'untagged', ethertype: 'ipv6', src: 'fd00::1', dst: 'ff02::1:ff09:9', l4: 'icmpv6', icmpType: 135 };
    for (const hook of ['ingress', 'egress'] as const) assert.equal(verdict(filters, hook, ns), 'pass');
  });

  test('one direction open: replies of every family stay (the open side commits connections of any family)', () => {
    const { filters } = compile(rs(dir(grant(['10.0.0.0/24'])), null), { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['untagged'] });
    assert.deepEqual(filters.filter((f) => f.match.ctState === REPLY_STATE).map((f) => f.protocol).sort(), ['ip', 'ipv6']);
  });

  test('isolated both ways, nothing allowed: chain 0 only, no conntrack; ARP and ND pass, IP drops, in every encapsulation', () => {
    for (const stateful of [true, false]) {
      const { filters } = compile(rs(dir(), dir()), { ...DEFAULT_COMPILE_OPTIONS, stateful });
      assert.ok(filters.every((f) => f.chain === 0 && f.actions.every((a) => a.kind === 'pass' || a.kind === 'drop')));
      for (const encapsulation of ALL_ENCAPSULATIONS) {
        for (const hook of ['ingress', 'egress'] as const) {
          const arp = runHook(filters, hook, skbOf({ encapsulation, ethertype: 'arp' }), newConntrackTable());
          assert.ok(arp.ok && arp.value.verdict === 'pass');
          const na: IpFrame = { encapsulation, ethertype: 'ipv6', src: POD6, dst: 'fd09::1', l4: 'icmpv6', icmpType: 136 };
          assert.equal(verdict(filters, hook, na), 'pass');
          assert.equal(verdict(filters, hook, opening(encapsulation, POD4, '10.0.0.1', 'udp', 53)), 'drop');
          assert.equal(verdict(filters, hook, { ...opening(encapsulation, POD6, 'fd00::1', 'tcp', 80), segment: 'data' }), 'drop');
        }
      }
    }
  });

  test('isolated both ways, nothing allowed one way: that hook keeps conntrack and replies (the other way opens connections)', () => {
    const { filters } = compile(rs(dir(), dir(grant(['10.1.0.0/24']))), { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['untagged'] });
    const egressHook = filters.filter((f) => f.hook === 'egress');
    assert.ok(egressHook.some((f) => f.match.ctState === REPLY_STATE && f.protocol === 'ip'));
    assert.ok(!egressHook.some((f) => f.match.ctState === REPLY_STATE && f.protocol === 'ipv6'), 'no IPv6 connection can exist');
  });
});
