// Upstream generator catalog G1-G12 (generator_test.go, reference section 6.2), ported to our
// compile. Upstream's rule sets had Pass and Drop rules; ours are allow-only grants (an
// `except` is an absence of allow, never a drop filter), so a Drop rule is translated into the
// grant it narrowed. Each case checks the filters that carry the policy and, through the TC
// model, the verdicts of new connections in every encapsulation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatNet, overlaps, parseCidr, subtract } from '../../core/model/cidr.js';
import type { DirectionRules, Grant, RuleSet } from '../../core/model/rules.js';
import type { TcFilter } from '../../core/model/tc.js';
import { compile, REPLY_STATE } from '../../core/pipeline/compile.js';
import { CHAIN_PREF, VERDICT_CHAIN } from '../../core/pipeline/layout.js';
import { runHook } from '../../core/tcmodel/classify.js';
import { newConntrackTable, skbOf } from '../../core/tcmodel/conntrack.js';
import type { Encapsulation, Frame } from '../../core/tcmodel/packet.js';

const IPS = ['192.168.1.2/32', '10.100.1.0/24', '2001::1/128', '2001::1000:0/112'];
const PORTS = [
  { protocol: 'TCP' as const, start: 6666, end: 6666 },
  { protocol: 'UDP' as const, start: 7777, end: 7777 },
];
const ENCAPS: Encapsulation[] = ['untagged', '802.1Q', '802.1ad'];
const egressOnly = (egress: DirectionRules | null): RuleSet => ({ endpoint: 'target/target-pod/net1', network: 'target/accel-net', ingress: null, egress, diagnostics: [] });
const grants = (...gs: Omit<Grant, 'policy' | 'rule'>[]): DirectionRules => ({ policies: ['target/p'], grants: gs.map((g, rule) => ({ policy: 'target/p', rule, ...g })) });

type L4 = 'tcp' | 'udp' | 'sctp';
function newConnection(filters: readonly TcFilter[], dst: string, l4: L4, port: number, encapsulation: Encapsulation): 'pass' | 'drop' {
  const v6 = dst.includes(':');
  const frame: Frame = { encapsulation, ethertype: v6 ? 'ipv6' : 'ip', src: v6 ? 'fd09::9' : '10.9.9.9', dst, l4, srcPort: 40000, dstPort: port, segment: 'opening' };
  const r = runHook(filters, 'ingress', skbOf(frame), newConntrackTable());
  assert.ok(r.ok, JSON.stringify(r));
  return r.value.verdict;
}

/** Every (address, protocol, port) in `cases` gets `want` in every encapsulation. */
function expectVerdicts(filters: readonly TcFilter[], want: 'pass' | 'drop', cases: readonly [string, L4, number][]): void {
  for (const encap of ENCAPS) for (const [ip, l4, port] of cases) assert.equal(newConnection(filters, ip, l4, port, encap), want, `${encap} ${l4} ${ip}:${port}`);
}

/** Allow filters of new connections in the verdict chain, as "protocol match" lines. */
const allowLines = (filters: readonly TcFilter[]): string[] =>
  filters
    .filter((f) => f.hook === 'ingress' && f.chain === VERDICT_CHAIN && f.pref !== CHAIN_PREF.drop && f.match.icmpType === undefined && f.match.ctState !== REPLY_STATE)
    .map((f) => `${f.protocol} ${[f.match.vlanEthType, f.match.cvlanEthType, f.match.ipProto, f.match.dstIp, f.match.dstPort && `${f.match.dstPort.start}-${f.match.dstPort.end}`].filter((x) => x !== undefined).join(' ')}`)
    .sort();

/** The entry chain of the hook ends in a catch-all that sends every frame to the verdict chain. */
const isolatedOnIngressHook = (filters: readonly TcFilter[]): boolean =>
  filters.some((f) => f.hook === 'ingress' && f.chain === 0 && f.protocol === 'all' && Object.keys(f.match).length === 0 && f.actions.at(-1)?.kind === 'goto') &&
  filters.some((f) => f.hook === 'ingress' && f.chain === VERDICT_CHAIN && f.protocol === 'all' && f.actions[0]?.kind === 'drop');

describe('upstream generator catalog', () => {
  test('G1: no policy (Rules nil): no filters at all (upstream still added an ingress qdisc)', () => {
    assert.deepEqual(compile(egressOnly(null)).filters, []);
  });

  test('G2 (bug 7): isolated with nothing allowed: every new IP connection drops, tagged and QinQ too, ARP and ND still pass', () => {
    const { filters } = compile(egressOnly(grants()));
    assert.ok(isolatedOnIngressHook(filters));
    assert.deepEqual(allowLines(filters), []);
    expectVerdicts(filters, 'drop', [['192.168.1.2', 'tcp', 6666], ['2001::1', 'udp', 7777], ['8.8.8.8', 'sctp', 1]]);
    for (const encapsulation of ENCAPS) {
      const arp = runHook(filters, 'ingress', skbOf({ encapsulation, ethertype: 'arp' }), newConntrackTable());
      const ns = runHook(filters, 'ingress', skbOf({ encapsulation, ethertype: 'ipv6', src: 'fd09::9', dst: 'ff02::1:ff00:1', l4: 'icmpv6', icmpType: 135 }), newConntrackTable());
      assert.ok(arp.ok && ns.ok);
      assert.equal(arp.value.verdict, 'pass', `${encapsulation} ARP`);
      assert.equal(ns.value.verdict, 'pass', `${encapsulation} neighbour solicitation`);
    }
  });

  test('G3 (bug 7): an Ingress rule set is not an error: it is enforced on the egress hook, keyed on src_ip', () => {
    const { filters } = compile({ ...egressOnly(null), ingress: grants({ peers: ['192.168.1.2/32'], ports: 'all' }) });
    assert.ok(filters.some((f) => f.hook === 'egress' && f.match.srcIp === '192.168.1.2/32'));
    assert.ok(filters.filter((f) => f.hook === 'ingress').every((f) => f.match.dstIp === undefined && f.match.srcIp === undefined), 'the open ingress hook only commits');
  });

  test('G4: addresses, every port: one allow per address and encapsulation, the /24 from 10.100.1.1/24 normalised', () => {
    const { filters } = compile(egressOnly(grants({ peers: IPS, ports: 'all' })));
    assert.deepEqual(allowLines(filters), [
      '802.1Q ip 10.100.1.0/24',
      '802.1Q ip 192.168.1.2/32',
      '802.1Q ipv6 2001::1/128',
      '802.1Q ipv6 2001::1000:0/112',
      '802.1ad 802.1Q ip 10.100.1.0/24',
      '802.1ad 802.1Q ip 192.168.1.2/32',
      '802.1ad 802.1Q ipv6 2001::1/128',
      '802.1ad 802.1Q ipv6 2001::1000:0/112',
      'ip 10.100.1.0/24',
      'ip 192.168.1.2/32',
      'ipv6 2001::1/128',
      'ipv6 2001::1000:0/112',
    ]);
    expectVerdicts(filters, 'pass', [['192.168.1.2', 'tcp', 1], ['10.100.1.200', 'udp', 53], ['2001::1', 'sctp', 9], ['2001::1000:ffff', 'tcp', 22]]);
    expectVerdicts(filters, 'drop', [['192.168.1.3', 'tcp', 1], ['10.100.2.1', 'udp', 53], ['2001::2', 'tcp', 9], ['2001::1001:0', 'tcp', 22]]);
  });

  test('G5: ports to every address: one allow per port, family and encapsulation, no address key', () => {
    const { filters } = compile(egressOnly(grants({ peers: ['0.0.0.0/0', '::/0'], ports: PORTS })));
    assert.deepEqual(allowLines(filters), [
      '802.1Q ip tcp 6666-6666',
      '802.1Q ip udp 7777-7777',
      '802.1Q ipv6 tcp 6666-6666',
      '802.1Q ipv6 udp 7777-7777',
      '802.1ad 802.1Q ip tcp 6666-6666',
      '802.1ad 802.1Q ip udp 7777-7777',
      '802.1ad 802.1Q ipv6 tcp 6666-6666',
      '802.1ad 802.1Q ipv6 udp 7777-7777',
      'ip tcp 6666-6666',
      'ip udp 7777-7777',
      'ipv6 tcp 6666-6666',
      'ipv6 udp 7777-7777',
    ]);
    expectVerdicts(filters, 'pass', [['8.8.8.8', 'tcp', 6666], ['2001:db8::1', 'udp', 7777]]);
    expectVerdicts(filters, 'drop', [['8.8.8.8', 'udp', 6666], ['2001:db8::1', 'tcp', 7777], ['8.8.8.8', 'sctp', 6666]]);
  });

  test('G6: addresses x ports: each address on each port, nothing else', () => {
    const { filters } = compile(egressOnly(grants({ peers: IPS, ports: PORTS })));
    const hosts = ['192.168.1.2', '10.100.1.77', '2001::1', '2001::1000:1'];
    expectVerdicts(filters, 'pass', hosts.flatMap((h): [string, L4, number][] => [[h, 'tcp', 6666], [h, 'udp', 7777]]));
    expectVerdicts(filters, 'drop', hosts.flatMap((h): [string, L4, number][] => [[h, 'udp', 6666], [h, 'tcp', 7777], [h, 'tcp', 6667]]));
    expectVerdicts(filters, 'drop', [['192.168.1.3', 'tcp', 6666], ['2001::2', 'udp', 7777]]);
  });

  test('G7: a rule with neither addresses nor ports allows everything', () => {
    const { filters } = compile(egressOnly(grants({ peers: ['0.0.0.0/0', '::/0'], ports: 'all' })));
    expectVerdicts(filters, 'pass', [['8.8.8.8', 'tcp', 1], ['2001:db8::1', 'sctp', 65535], ['10.0.0.1', 'udp', 53]]);
  });

  test('G8/G10 (bug 2): a Drop rule is an except: an address-keyed drop only ever covers addresses no grant allows, and only new connections', () => {
    // upstream's [{ips, Drop}] only ever came from ipBlock.except: here every address but IPS, on PORTS
    const rest = (all: string, holes: string[]) => subtract(parseCidr(all)!, holes.map((h) => parseCidr(h)!)).map(formatNet);
    const peers = [...rest('0.0.0.0/0', IPS.slice(0, 2)), ...rest('::/0', IPS.slice(2))];
    const { filters } = compile(egressOnly(grants({ peers, ports: PORTS })));
    const allowed = peers.map((c) => parseCidr(c)!);
    for (const f of filters) {
      const addr = f.match.dstIp ?? f.match.srcIp;
      if (addr === undefined || !f.actions.some((a) => a.kind === 'drop')) continue;
      assert.equal(f.match.ctState, '+trk+new', `an address drop is for new connections only: ${addr}`);
      const hole = parseCidr(addr)!;
      assert.ok(!allowed.some((a) => overlaps(a, hole)), `the dropped ${addr} is allowed by a grant`);
    }
    expectVerdicts(filters, 'drop', [['192.168.1.2', 'tcp', 6666], ['10.100.1.9', 'udp', 7777], ['2001::1', 'tcp', 6666], ['2001::1000:9', 'udp', 7777]]);
    expectVerdicts(filters, 'pass', [['192.168.1.3', 'tcp', 6666], ['8.8.8.8', 'udp', 7777], ['2001::2', 'tcp', 6666]]);
    expectVerdicts(filters, 'drop', [['192.168.1.3', 'tcp', 80]]);
  });

  test('G12: allow 192.168.1.2 TCP 6666; 2001::1 UDP 7777 (upstream Drop) just has no allow', () => {
    const { filters } = compile(egressOnly(grants({ peers: ['192.168.1.2/32'], ports: [PORTS[0]!] })));
    assert.deepEqual(allowLines(filters), ['802.1Q ip tcp 192.168.1.2/32 6666-6666', '802.1ad 802.1Q ip tcp 192.168.1.2/32 6666-6666', 'ip tcp 192.168.1.2/32 6666-6666']);
    expectVerdicts(filters, 'pass', [['192.168.1.2', 'tcp', 6666]]);
    expectVerdicts(filters, 'drop', [['2001::1', 'udp', 7777], ['192.168.1.2', 'udp', 6666]]);
  });

  test('bug 8: the same grant from two policies compiles to each filter once', () => {
    const one = compile(egressOnly(grants({ peers: IPS, ports: PORTS }))).filters;
    const twice: DirectionRules = { policies: ['target/a', 'target/b'], grants: ['target/a', 'target/b'].map((policy) => ({ policy, rule: 0, peers: IPS, ports: PORTS })) };
    assert.deepEqual(compile(egressOnly(twice)).filters, one);
  });

  test('bug 22: the program does not depend on the order of grants (upstream followed Go map order)', () => {
    const gs = grants({ peers: IPS.slice(0, 2), ports: PORTS }, { peers: IPS.slice(2), ports: 'all' }, { peers: ['10.0.0.0/8'], ports: [PORTS[1]!] });
    const reversed = { ...gs, grants: [...gs.grants].reverse() };
    assert.deepEqual(compile(egressOnly(reversed)), compile(egressOnly(gs)));
  });
});
