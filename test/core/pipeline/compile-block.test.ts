// compileBlock: the shared-block program's shape. Whether it decides probes like Kubernetes
// does is proven through the kernel model (test/property, test/core/conformance); these
// tests pin what each piece is for, and the invariants diff and the hardware rely on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DirectionRules, Grant, RuleSet } from '../../../core/model/rules.js';
import { actionsKey, filterIdentity, type TcFilter } from '../../../core/model/tc.js';
import { compileBlock, type BlockMember } from '../../../core/pipeline/compile-block.js';
import { BLOCK_PORT_CHAIN_FIRST, BLOCK_PREF, DESTINATION_CHAIN, ENTRY_CHAIN, SOURCE_CHAIN } from '../../../core/pipeline/layout.js';

const dir = (...grants: Grant[]): DirectionRules => ({ policies: ['ns1/p'], grants });
const grant = (peers: string[], ports: Grant['ports'] = 'all'): Grant => ({ policy: 'ns1/p', rule: 0, peers, ports });
const tcp = (...ps: number[]): Grant['ports'] => ps.map((p) => ({ protocol: 'TCP' as const, start: p }));
const member = (name: string, ingress: DirectionRules | null, egress: DirectionRules | null, over: Partial<BlockMember> = {}): BlockMember => {
  const rules: RuleSet = { endpoint: `ns1/${name}/net1`, network: 'ns1/net1', ingress, egress, diagnostics: [] };
  return { endpoint: rules.endpoint, ports: [`rep-${name}`], addresses: ['10.0.0.1'], rules, encapsulations: ['untagged'], ...over };
};
const OPTS = { stateful: true, ctZone: 7 };
const gotos = (f: TcFilter): number[] => f.actions.flatMap((a) => (a.kind === 'goto' ? [a.chain] : []));

describe('compileBlock', () => {
  test('no member isolated in either direction: nothing to install', () => {
    assert.deepEqual(compileBlock([member('a', null, null), member('b', null, null, { addresses: ['10.0.0.2'] })], OPTS).filters, []);
  });

  test('a pod with isolated egress is classified by the port it sends from (indev), then conntrack in the switch zone', () => {
    const { filters } = compileBlock([member('a', null, dir(grant(['10.1.0.0/16'])))], OPTS);
    const entry = filters.filter((f) => f.chain === ENTRY_CHAIN && f.match.indev === 'rep-a');
    assert.equal(entry.length, 1);
    assert.equal(entry[0]!.pref, BLOCK_PREF.bySource);
    assert.equal(actionsKey(entry[0]!.actions), `ct:7|goto:${SOURCE_CHAIN}`);
    // its allowed peers continue to the destination check, never straight to pass
    const allows = filters.filter((f) => f.chain === SOURCE_CHAIN && f.match.dstIp === '10.1.0.0/16');
    assert.equal(allows.length, 1);
    assert.equal(allows[0]!.match.indev, 'rep-a');
    assert.deepEqual(gotos(allows[0]!), [DESTINATION_CHAIN]);
    assert.ok(filters.some((f) => f.chain === SOURCE_CHAIN && f.protocol === 'all' && actionsKey(f.actions) === 'drop'), 'SOURCE ends in a drop');
  });

  test('a pod with isolated ingress: frames toward its address that no rule allows are dropped in every encapsulation', () => {
    const { filters } = compileBlock([member('b', dir(grant(['10.2.0.0/24'], tcp(80))), null, { addresses: ['10.0.0.9'] })], OPTS);
    const drops = filters.filter((f) => f.chain === DESTINATION_CHAIN && f.match.dstIp === '10.0.0.9/32' && actionsKey(f.actions) === 'drop');
    assert.deepEqual(drops.map((f) => f.protocol).sort(), ['802.1Q', '802.1ad', 'ip']);
    const allow = filters.find((f) => f.chain === DESTINATION_CHAIN && f.match.srcIp === '10.2.0.0/24');
    assert.equal(allow?.match.dstIp, '10.0.0.9/32');
    assert.equal(allow?.match.dstPort?.start, 80);
    assert.equal(actionsKey(allow!.actions), 'ct:7:commit|pass');
    // everyone else's new connections are committed, so their replies are +est at an isolated pod
    const rest = filters.filter((f) => f.chain === DESTINATION_CHAIN && f.pref === BLOCK_PREF.rest.ip);
    assert.deepEqual(rest.map((f) => actionsKey(f.actions)), ['ct:7:commit|pass']);
  });

  test('with its MAC known, a pod is recognised by MAC and address, so another network reusing its address on the switch is not mistaken for it', () => {
    const x = member('x', dir(grant(['10.0.0.6/32'])), null, { addresses: ['10.0.0.5'], mac: '02:00:00:00:00:0A' });
    const y = member('y', dir(), null, { addresses: ['10.0.0.5'], mac: '02:00:00:00:00:0b' });
    const { filters, diagnostics } = compileBlock([x, y], OPTS);
    assert.deepEqual(diagnostics.map((d) => d.id), ['address-reused-on-node', 'address-reused-on-node']);
    const allow = filters.find((f) => f.chain === DESTINATION_CHAIN && f.match.srcIp === '10.0.0.6/32');
    assert.equal(allow?.match.dstMac, '02:00:00:00:00:0a', 'x grant carries x MAC (normalised)');
    const drops = filters.filter((f) => f.chain === DESTINATION_CHAIN && actionsKey(f.actions) === 'drop' && f.match.dstMac !== undefined);
    assert.deepEqual(drops.map((f) => `${f.pref}/${f.protocol}/${f.match.dstMac}`).sort(), [`${BLOCK_PREF.isolatedDropByMac}/all/02:00:00:00:00:0a`, `${BLOCK_PREF.isolatedDropByMac}/all/02:00:00:00:00:0b`]);
    assert.ok(drops.every((f) => f.match.dstIp === undefined), 'the catch-all toward a pod is its MAC, every protocol');
  });

  test('frames toward an isolated pod address are dropped whatever their MAC (a unicast datagram in a broadcast frame; lab finding), and a reused address is reported', () => {
    const x = member('x', dir(), null, { addresses: ['10.0.0.5'], mac: '02:00:00:00:00:0a' });
    const y = member('y', null, null, { addresses: ['10.0.0.5'], mac: '02:00:00:00:00:0b' });
    const { filters, diagnostics } = compileBlock([x, y], OPTS);
    const byAddress = filters.filter((f) => f.chain === DESTINATION_CHAIN && f.match.dstIp === '10.0.0.5/32' && f.match.dstMac === undefined && actionsKey(f.actions) === 'drop');
    assert.deepEqual(byAddress.map((f) => f.protocol).sort(), ['802.1Q', '802.1ad', 'ip']);
    assert.ok(byAddress.every((f) => f.pref > BLOCK_PREF.isolatedDropByMac));
    assert.deepEqual(diagnostics.map((d) => d.id), ['address-reused-on-node']);
  });

  test('without a MAC, the pod is keyed by address alone, and that is reported', () => {
    const { diagnostics } = compileBlock([member('x', dir(), null)], OPTS);
    assert.deepEqual(diagnostics.map((d) => d.id), ['ingress-keyed-by-address']);
  });

  test('frames from ports of pods with open egress reach the destination check only as IP (ARP and other ethertypes pass)', () => {
    const { filters } = compileBlock([member('b', dir(), null)], OPTS);
    const entry = filters.filter((f) => f.chain === ENTRY_CHAIN);
    assert.ok(entry.every((f) => f.match.indev === undefined), 'no pod is classified by its port');
    const toDestination = entry.filter((f) => gotos(f).includes(DESTINATION_CHAIN));
    assert.deepEqual([...new Set(toDestination.map((f) => `${f.protocol}:${f.match.vlanEthType ?? ''}:${f.match.cvlanEthType ?? ''}`))].sort(), ['802.1Q:ip:', '802.1Q:ipv6:', '802.1ad:802.1Q:ip', '802.1ad:802.1Q:ipv6', 'ip::', 'ipv6::']);
    assert.ok(entry.some((f) => f.protocol === 'arp' && actionsKey(f.actions) === 'pass'));
  });

  test('pods with the same allowed port set share one port chain, which ends in a drop', () => {
    const many = tcp(80, 443, 8080, 8443, 9090, 9443);
    const peers = ['10.3.0.1/32', '10.3.0.2/32', '10.3.0.3/32', '10.3.0.4/32', '10.3.0.5/32', '10.3.0.6/32'];
    const { filters } = compileBlock([member('a', null, dir(grant(peers, many))), member('b', null, dir(grant(peers, many)), { addresses: ['10.0.0.2'] })], OPTS);
    const portChains = [...new Set(filters.filter((f) => f.chain >= BLOCK_PORT_CHAIN_FIRST).map((f) => f.chain))];
    assert.deepEqual(portChains, [BLOCK_PORT_CHAIN_FIRST]);
    const chain = filters.filter((f) => f.chain === BLOCK_PORT_CHAIN_FIRST);
    assert.equal(chain.filter((f) => f.match.dstPort !== undefined).length, 6);
    assert.ok(chain.every((f) => f.match.dstPort === undefined ? actionsKey(f.actions) === 'drop' : gotos(f)[0] === DESTINATION_CHAIN));
  });

  test('a receiver on another switch of the node is checked here too (a bridge may span two switches); only members are classified by port', () => {
    const a = member('a', null, dir(grant(['10.9.0.0/16'])));
    const b = member('b', dir(), null, { ports: ['rep-b'], addresses: ['10.0.0.2'], mac: '02:00:00:00:00:02' });
    const { filters } = compileBlock([a], OPTS, [a, b]);
    assert.ok(filters.some((f) => f.chain === DESTINATION_CHAIN && f.match.dstMac === '02:00:00:00:00:02' && actionsKey(f.actions) === 'drop'));
    assert.ok(!filters.some((f) => f.match.indev === 'rep-b'));
  });

  test('stateless: no conntrack action or state anywhere', () => {
    const { filters } = compileBlock([member('a', dir(grant(['10.2.0.0/24'])), dir(grant(['10.1.0.0/16'])))], { stateful: false, ctZone: 0 });
    assert.ok(filters.length > 0);
    assert.ok(filters.every((f) => f.match.ctState === undefined && f.actions.every((a) => a.kind !== 'ct')));
  });

  test('isolated ingress without an address but with a MAC: every frame to the MAC is dropped (fail closed), and reported', () => {
    const { filters, diagnostics } = compileBlock([member('a', dir(grant(['10.2.0.0/24'])), null, { addresses: [], mac: '02:00:00:00:00:01' })], OPTS);
    assert.deepEqual(diagnostics.map((d) => d.id), ['ingress-without-address']);
    assert.ok(filters.some((f) => f.chain === DESTINATION_CHAIN && f.match.dstMac === '02:00:00:00:00:01' && actionsKey(f.actions) === 'drop'));
    assert.ok(!filters.some((f) => f.match.srcIp === '10.2.0.0/24'), 'nothing can be allowed to a pod without an address');
  });

  test('isolated ingress without an address cannot be keyed: reported, and nothing else of the program is lost', () => {
    const { filters, diagnostics } = compileBlock([member('a', dir(), null, { addresses: [] }), member('b', null, dir(), { addresses: ['10.0.0.2'] })], OPTS);
    assert.deepEqual(diagnostics.map((d) => d.id), ['ingress-without-address']);
    assert.ok(filters.some((f) => f.match.indev === 'rep-b'));
  });

  test('no two filters share an identity, and every goto lands on a chain the program fills', () => {
    const { filters } = compileBlock(
      [member('a', dir(grant(['10.2.0.0/24'], tcp(80))), dir(grant(['10.1.0.0/16']))), member('b', dir(grant(['0.0.0.0/0', '::/0'])), null, { addresses: ['10.0.0.2', 'fd00::2'], encapsulations: ['untagged', '802.1Q'] })],
      OPTS,
    );
    assert.equal(new Set(filters.map(filterIdentity)).size, filters.length);
    const chains = new Set(filters.map((f) => f.chain));
    for (const f of filters) for (const c of gotos(f)) assert.ok(chains.has(c), `goto ${c} from chain ${f.chain}`);
    assert.ok(filters.every((f) => f.hook === 'ingress'), 'a block is an ingress block');
  });
});
