// decide() through shared-block programs (compileBlock via programSwitches on stand-in
// switches): the conformance cases, explanations naming the block chains, and forged
// sources held to the policy of the port they came in through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decide, resolveEnd } from '../../../core/conformance/decide.js';
import { applyStep, loadCaseFile } from '../../../core/conformance/load-case.js';
import type { CaseProbe } from '../../../core/conformance/case.js';
import type { Probe } from '../../../core/model/probe.js';
import { DEFAULT_NODE_OPTIONS, programNode, type NodeProgram } from '../../../core/pipeline/program-node.js';
import type { SwitchProgram } from '../../../core/pipeline/program-switch.js';
import { blockRoute, type BlockPort, type BlockSwitch } from '../../../core/tcmodel/block-route.js';
import { newConntrackTable } from '../../../core/tcmodel/conntrack.js';
import { describeModelError } from '../../../core/tcmodel/model-error.js';
import { decideConnectionAlong, deliverAlong, type Connection } from '../../../core/tcmodel/probe.js';
import { acceleratedBridge, ClusterBuilder, mnp, NODE } from '../../fixtures/cluster-builder.js';
import { builtinAdapters } from '../../fixtures/offline-adapters.js';
import { standInSwitches } from '../../fixtures/stand-in-switches.js';

const CASES = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'conformance', 'cases');

for (const switchCount of [1, 2]) {
  test(`every shared conformance case holds through the shared-block layout (${switchCount} stand-in switch${switchCount > 1 ? 'es' : ''})`, async () => {
    const adapters = await builtinAdapters();
    const files = readdirSync(CASES).filter((f) => f.endsWith('.yaml')).sort();
    assert.ok(files.length >= 14);
    const failures: string[] = [];
    let probes = 0;
    for (const file of files) {
      const loaded = await loadCaseFile(join(CASES, file));
      if (!loaded.ok) assert.fail(`${file}: ${JSON.stringify(loaded.error)}`);
      const c = loaded.value;
      let { cluster, externals } = c;
      const run = async (list: readonly CaseProbe[], where: string): Promise<void> => {
        const np = programNode(cluster, c.node, adapters, DEFAULT_NODE_OPTIONS);
        const switches = await standInSwitches(np, { stateful: true, ctZoneBase: 0, switches: switchCount });
        list.forEach((p, i) => {
          probes++;
          const d = decide(np, externals, p, 40000 + i, switches);
          const got = d.problem ? 'error' : d.verdict;
          if (got !== p.expect) failures.push(`${file} ${where} ${p.from} -> ${p.to} ${p.protocol}/${p.port} ${p.family}: expected ${p.expect}, got ${got}: ${d.problem ?? d.reason}`);
        });
      };
      await run(c.probes, 'initial');
      for (const [i, s] of c.steps.entries()) {
        ({ cluster, externals } = applyStep(cluster, externals, s));
        await run(s.probes, `step ${i}`);
      }
    }
    assert.ok(probes >= 58, `only ${probes} probes`);
    assert.deepEqual(failures, []);
  });
}

// ---- a small node: a may send to c only; c accepts a only on TCP 80; b and d are open ----

const A = '10.0.0.1';
const B = '10.0.0.2';
const C = '10.0.0.3';
const D = '10.0.0.4';

function node(): NodeProgram {
  const ips: Record<string, string> = { a: A, b: B, c: C, d: D };
  const b = new ClusterBuilder().namespace('ns1').nad('ns1/net1');
  for (const [name, ip] of Object.entries(ips)) b.pod(`ns1/${name}`, { labels: { app: name }, interfaces: [{ network: 'ns1/net1', ips: [ip], representor: `rep${name}` }] });
  b.policy(
    mnp('ns1/a-egress', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'c' } } }] }] }),
    mnp('ns1/c-ingress', { podSelector: { matchLabels: { app: 'c' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] }),
  );
  return programNode(b.build(), NODE, [acceleratedBridge], DEFAULT_NODE_OPTIONS);
}

const probe = (from: string, to: string, port = 80): Probe => ({ from: `ns1/${from}`, to: `ns1/${to}`, network: 'ns1/net1', family: 'ipv4', protocol: 'TCP', port });

async function setUp(switches = 1): Promise<{ np: NodeProgram; sws: SwitchProgram[]; on: (port: string) => BlockPort }> {
  const np = node();
  const sws = await standInSwitches(np, { stateful: true, ctZoneBase: 0, switches });
  const asSwitch = (sp: SwitchProgram): BlockSwitch => ({ id: sp.eswitch.id, uplink: sp.eswitch.uplink, filters: sp.compiled.filters });
  const on = (port: string): BlockPort => ({ sw: asSwitch(sws.find((s) => s.block.ports.includes(port))!), port });
  return { np, sws, on };
}

test('block and per-port layouts give the same verdicts on a small node', async () => {
  const { np, sws } = await setUp();
  const pairs: [string, string, number][] = [['a', 'c', 80], ['a', 'c', 81], ['a', 'd', 80], ['b', 'c', 80], ['b', 'd', 80], ['c', 'a', 22], ['d', 'a', 80]];
  const verdicts = pairs.map(([f, t, p]) => [decide(np, [], probe(f, t, p)).verdict, decide(np, [], probe(f, t, p), 40000, sws).verdict]);
  assert.deepEqual(verdicts.map(([perPort]) => perPort), ['allow', 'deny', 'deny', 'deny', 'allow', 'allow', 'allow']);
  assert.deepEqual(verdicts.map(([, block]) => block), verdicts.map(([perPort]) => perPort));
});

test('explain names the block chain that dropped the frame: SOURCE = pod egress, DESTINATION = pod ingress', async () => {
  const { np, sws } = await setUp();
  const egress = decide(np, [], probe('a', 'd'), 40000, sws);
  assert.equal(egress.verdict, 'deny');
  assert.match(egress.reason, /dropped at block \d+ \(entered through repa\) in chain SOURCE 10000 \(pod egress of ns1\/a\)/);
  const ingress = decide(np, [], probe('b', 'c'), 40000, sws);
  assert.equal(ingress.verdict, 'deny');
  assert.match(ingress.reason, /entered through repb\) in chain DESTINATION 10001 \(pod ingress of ns1\/c\)/);
  assert.match(ingress.reason, /ingress of ns1\/c: isolated by ns1\/c-ingress, no rule allows it/);
});

test('across two switches the receiver ingress is enforced already in the sender switch (every block checks every receiver of the node)', async () => {
  const { np, sws } = await setUp(2);
  assert.equal(sws.length, 2);
  const sideOf = (port: string) => sws.findIndex((s) => s.block.ports.includes(port));
  // a and c sit on different switches when dealt out in name order (repa, repb, repc, repd)
  assert.notEqual(sideOf('repa'), sideOf('repb'));
  assert.equal(sideOf('repa'), sideOf('repc'));
  const fromB = decide(np, [], probe('b', 'c'), 40000, sws);
  assert.equal(fromB.verdict, 'deny');
  assert.match(fromB.reason, /entered through repb\) in chain DESTINATION 10001 \(pod ingress of ns1\/c\)/);
  assert.equal(decide(np, [], probe('b', 'd'), 40000, sws).verdict, 'allow');
  assert.equal(decide(np, [], probe('d', 'a'), 40000, sws).verdict, 'allow');
  assert.equal(decide(np, [], probe('a', 'd'), 40000, sws).verdict, 'deny');
});

// ---- forged sources: the IP and the MAC of another local pod ----

/** A TCP connection from `from`'s port that claims to be `as` (its address and MAC), toward `to`. */
function forgedConn(np: NodeProgram, as: string, to: string, dstPort = 80): Connection {
  const end = (name: string) => {
    const e = resolveEnd(np, [], `ns1/${name}`, probe(as, to));
    if (typeof e === 'string') assert.fail(e);
    assert.ok(e.mac, `${name} has a MAC in network-status`);
    return e;
  };
  const [claimed, target] = [end(as), end(to)];
  return { family: 'ipv4', protocol: 'TCP', srcIp: claimed.ip, dstIp: target.ip, srcMac: claimed.mac!, dstMac: target.mac!, srcPort: 40000, dstPort };
}

test('a pod with isolated egress that forges another local pod source address and MAC is still held to its own egress policy', async () => {
  const { np, on } = await setUp();
  // a (egress: c only) pretends to be b (open egress) toward d
  const forged = decideConnectionAlong(blockRoute(on('repa'), on('repd')), forgedConn(np, 'b', 'd'), newConntrackTable());
  if (!forged.ok) assert.fail(describeModelError(forged.error));
  assert.equal(forged.value.verdict, 'deny');
  const opening = forged.value.exchange[0]!;
  assert.equal(opening.frame.srcMac, forgedConn(np, 'b', 'd').srcMac);
  const run = opening.delivery.hops[0]!.run;
  assert.deepEqual(run.path.map((s) => s.chain), [0, 10000], 'dispatched to SOURCE by indev, dropped there');
  assert.equal(run.path[0]?.kind === 'filter' && run.path[0].filter.match.indev, 'repa');
});

test('the same forged frame entering from the impersonated pod port is allowed', async () => {
  const { np, on } = await setUp();
  const genuine = decideConnectionAlong(blockRoute(on('repb'), on('repd')), forgedConn(np, 'b', 'd'), newConntrackTable());
  assert.ok(genuine.ok && genuine.value.verdict === 'allow');
  // a single datagram, not just the connection
  const c = forgedConn(np, 'b', 'd');
  const frame = { encapsulation: 'untagged', ethertype: 'ip', srcMac: c.srcMac!, dstMac: c.dstMac!, src: c.srcIp, dst: c.dstIp, l4: 'udp', srcPort: 5000, dstPort: 53 } as const;
  const fromA = deliverAlong(blockRoute(on('repa'), on('repd')).forward, frame, newConntrackTable());
  const fromB = deliverAlong(blockRoute(on('repb'), on('repd')).forward, frame, newConntrackTable());
  assert.ok(fromA.ok && fromB.ok);
  assert.deepEqual([fromA.value.delivered, fromB.value.delivered], [false, true]);
});

test('forging the address of a pod the egress policy allows to talk does not widen the egress either', async () => {
  const { np, on } = await setUp();
  // a pretends to be c (open egress) toward d: still a's SOURCE policy
  const forged = decideConnectionAlong(blockRoute(on('repa'), on('repd')), forgedConn(np, 'c', 'd'), newConntrackTable());
  assert.ok(forged.ok && forged.value.verdict === 'deny');
});

// ---- two networks on one switch that reuse an address (block-bugs.md #1) ----

function overlapNode(withMacs: boolean): NodeProgram {
  const iface = (network: string, ip: string, representor: string) => ({ network, ips: [ip], representor, ...(withMacs ? {} : { deviceInfo: { type: 'pci', pci: { 'representor-device': representor } } }) });
  const b = new ClusterBuilder().namespace('ns1').nad('ns1/net1').nad('ns1/net2');
  b.pod('ns1/x', { labels: { app: 'x' }, interfaces: [iface('ns1/net1', '10.0.0.5', 'repx')] });
  b.pod('ns1/y', { labels: { app: 'y' }, interfaces: [iface('ns1/net2', '10.0.0.5', 'repy')] });
  b.pod('ns1/z', { labels: { app: 'z' }, interfaces: [iface('ns1/net2', '10.0.0.6', 'repz')] });
  b.policy(
    mnp('ns1/x-from-6', { podSelector: { matchLabels: { app: 'x' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.6/32' } }] }] }, 'net1'),
    mnp('ns1/y-deny', { podSelector: { matchLabels: { app: 'y' } }, policyTypes: ['Ingress'] }, 'net2'),
  );
  const cluster = b.build();
  if (withMacs) return programNode(cluster, NODE, [acceleratedBridge], DEFAULT_NODE_OPTIONS);
  // the builder always writes a MAC: take it out of network-status
  const pods = cluster.pods.map((p) => {
    const key = 'k8s.v1.cni.cncf.io/network-status';
    const entries = (JSON.parse(p.metadata.annotations![key]!) as Record<string, unknown>[]).map(({ mac: _, ...e }) => e);
    return { ...p, metadata: { ...p.metadata, annotations: { ...p.metadata.annotations, [key]: JSON.stringify(entries) } } };
  });
  return programNode({ ...cluster, pods }, NODE, [acceleratedBridge], DEFAULT_NODE_OPTIONS);
}

const zToY: Probe = { from: 'ns1/z', to: 'ns1/y', network: 'ns1/net2', family: 'ipv4', protocol: 'TCP', port: 80 };

test('two networks reusing an address on one switch: ingress keyed on the MAC keeps their policies apart', async () => {
  const np = overlapNode(true);
  const sws = await standInSwitches(np, { stateful: true, ctZoneBase: 0 });
  assert.equal(decide(np, [], zToY).verdict, 'deny', 'per-port: y denies everything');
  const got = decide(np, [], zToY, 40000, sws);
  assert.equal(got.verdict, 'deny', `x's grant for 10.0.0.6 -> 10.0.0.5 must not open y: ${got.reason}`);
  // x's drop by address also catches frames to y (fail closed), and that is reported
  assert.ok(sws[0]!.compiled.diagnostics.some((d) => d.id === 'address-reused-on-node'));
  assert.ok(!sws[0]!.compiled.diagnostics.some((d) => d.id === 'ingress-keyed-by-address'));
});

test('without MACs the same switch mixes the two pods ingress, and compileBlock says why', async () => {
  const np = overlapNode(false);
  const sws = await standInSwitches(np, { stateful: true, ctZoneBase: 0 });
  assert.equal(decide(np, [], zToY).verdict, 'deny');
  assert.equal(decide(np, [], zToY, 40000, sws).verdict, 'allow', 'address-keyed: x\'s grant matches the frame for y');
  assert.ok(sws[0]!.compiled.diagnostics.some((d) => d.id === 'ingress-keyed-by-address'));
});
