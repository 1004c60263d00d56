import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { caseRepresentors, loadCaseFile } from '../../core/conformance/load-case.js';
import type { ConformanceCase } from '../../core/conformance/case.js';
import { bridgeName, endOf, nsLines, outsideBridgeName, planTopology, probeEnds, rootLines, teardownLines, uplinkPeerName } from './topology.js';

const SHARED = join(import.meta.dirname, '../../../shared/conformance/cases');
const load = async (file: string): Promise<ConformanceCase> => {
  const c = await loadCaseFile(file);
  assert.ok(c.ok, JSON.stringify(c));
  return c.value;
};
const plan = (c: ConformanceCase) => planTopology(c.cluster, c.externals, c.prefixes);

test('every representor the case loader names is a veth host end, so the accelerated-bridge adapter finds it in sysfs', async () => {
  for (const name of ['simple-v4-ingress.yaml', 'bond-cni.yaml']) {
    const c = await load(join(SHARED, name));
    const hosts = plan(c).namespaces.flatMap((n) => n.links.map((l) => l.host));
    for (const rep of caseRepresentors(c).keys()) assert.ok(hosts.includes(rep), `${name}: ${rep} has no veth`);
    for (const h of hosts) assert.ok(h.length <= 15, `${h} is longer than IFNAMSIZ`);
  }
});

test('a bond network becomes an active-backup bond over the pod’s address-less links, carrying the bond’s address', async () => {
  const c = await load(join(SHARED, 'bond-cni.yaml'));
  const p = plan(c);
  assert.deepEqual(p.problems, []);
  const podA = p.namespaces.find((n) => n.ref === 'bond-testing/pod-a')!;
  assert.deepEqual(podA.bonds, [{ name: 'net3', members: ['net1', 'net2'] }]);
  assert.deepEqual(podA.addrs, { net3: ['2.2.6.8/24'] });
  // both links sit on the member network's bridge; the bond network has no bridge of its own
  assert.equal(new Set(podA.links.map((l) => l.bridge)).size, 1);
  assert.equal(p.bridges.length, 1);
  const lines = nsLines(podA);
  const enslave = lines.indexOf('link set net1 master net3');
  assert.ok(lines.indexOf('link add net3 type bond mode active-backup miimon 100') < enslave);
  assert.ok(enslave < lines.indexOf('link set net1 up'), 'a link must be down when it is enslaved');
  assert.deepEqual(endOf(p, 'bond-testing/pod-a', 'default/bond-nad', 'ipv4'), { end: { ns: podA.name, dev: 'net3', ips: ['2.2.6.8'] }, ip: '2.2.6.8' });
});

test('externals get a namespace on their network’s bridge; IPv6 addresses go in without DAD', async () => {
  const c = await load(join(import.meta.dirname, 'cases/protocols.yaml'));
  const p = plan(c);
  const gw = p.namespaces.find((n) => n.ref === 'external/gw')!;
  assert.deepEqual(gw.addrs, { eth0: ['10.30.0.254/24', 'fd00:30::fe/64'] });
  assert.ok(nsLines(gw).includes('addr add fd00:30::fe/64 dev eth0 nodad'));
  assert.ok(nsLines(gw).includes('addr add 10.30.0.254/24 dev eth0'));
  const probe = c.probes.find((x) => x.from === 'external/gw' && x.family === 'ipv6')!;
  const ends = probeEnds(p, probe);
  assert.ok(typeof ends !== 'string');
  assert.equal(ends.src.ns, gw.name);
  assert.equal(ends.dst.ip, 'fd00:30::10');
  assert.match(String(probeEnds(p, { ...probe, from: 'proto/nobody' })), /has no interface/);
});

test('rootLines builds only what is missing and teardown removes what was built', async () => {
  const c = await load(join(SHARED, 'simple-v4-ingress.yaml'));
  const p = plan(c);
  const all = rootLines(p, { bridges: new Set(), namespaces: new Set(), hosts: new Set() });
  assert.ok(all.some((l) => l.startsWith('link add dpb') && l.endsWith('type bridge mcast_snooping 0')));
  const hosts = new Set(p.namespaces.flatMap((n) => n.links.map((l) => l.host)));
  const none = rootLines(p, { bridges: new Set(p.bridges), namespaces: new Set(p.namespaces.map((n) => n.name)), hosts });
  assert.deepEqual(none, []);
  const down = teardownLines({ bridges: p.bridges, namespaces: p.namespaces.map((n) => n.name), hosts });
  assert.equal(down.filter((l) => l.startsWith('netns del')).length, p.namespaces.length);
});

test('with an uplink, pods on other nodes and externals sit behind it; representors stay on the network bridge', async () => {
  const c = await load(join(import.meta.dirname, 'cases/protocols.yaml'));
  const p = planTopology(c.cluster, c.externals, c.prefixes, { uplink: 'dpup0', node: c.node });
  assert.deepEqual(p.problems, []);
  const net = bridgeName('default/dual');
  const outside = outsideBridgeName('default/dual');
  assert.deepEqual(p.uplink, { host: 'dpup0', peer: uplinkPeerName('dpup0'), bridge: net, outside });
  assert.deepEqual(p.bridges, [net, outside].sort());
  const bridgeOf = (ref: string) => p.namespaces.find((n) => n.ref === ref)!.links.map((l) => l.bridge);
  assert.deepEqual(bridgeOf('proto/remote'), [outside]);
  assert.deepEqual(bridgeOf('external/gw'), [outside]);
  for (const ref of ['proto/server', 'proto/client', 'proto/other']) assert.deepEqual(bridgeOf(ref), [net], ref);
  const local = [...caseRepresentors(c)].filter(([, r]) => r.pod !== 'proto/remote').map(([name]) => name);
  assert.deepEqual(p.representors, local.sort());
  // the uplink veth comes after both bridges exist, and is built once
  const lines = rootLines(p, { bridges: new Set(), namespaces: new Set(), hosts: new Set() });
  const veth = lines.indexOf(`link add dpup0 type veth peer name ${uplinkPeerName('dpup0')}`);
  assert.ok(veth > lines.indexOf(`link add ${outside} type bridge mcast_snooping 0`) && veth > lines.indexOf(`link add ${net} type bridge mcast_snooping 0`));
  assert.ok(lines.includes(`link set dpup0 master ${net} up`) && lines.includes(`link set ${uplinkPeerName('dpup0')} master ${outside} up`));
  assert.ok(!rootLines(p, { bridges: new Set(p.bridges), namespaces: new Set(), hosts: new Set(['dpup0']) }).some((l) => l.includes('dpup0')));
});

test('without an uplink the topology is as before: everything on the network bridge, no uplink veth', async () => {
  const c = await load(join(import.meta.dirname, 'cases/protocols.yaml'));
  const p = plan(c);
  assert.equal(p.uplink, undefined);
  assert.deepEqual(p.bridges, [bridgeName('default/dual')]);
  assert.ok(!rootLines(p, { bridges: new Set(), namespaces: new Set(), hosts: new Set() }).some((l) => l.includes('dpup')));
});

test('a case with only local pods still gets the uplink on its bridge (the agent binds it); two networks behind one uplink are a problem', async () => {
  const c = await load(join(SHARED, 'simple-v4-ingress.yaml'));
  const p = planTopology(c.cluster, c.externals, c.prefixes, { uplink: 'dpup0' });
  assert.deepEqual(p.problems, []);
  assert.equal(p.uplink?.bridge, bridgeName(c.cluster.networks[0]!.metadata.namespace + '/' + c.cluster.networks[0]!.metadata.name));
  const two = planTopology(c.cluster, [
    { name: 'x', network: 'default/a', ips: ['10.0.0.1'] },
    { name: 'y', network: 'default/b', ips: ['10.0.1.1'] },
  ], c.prefixes, { uplink: 'dpup0' });
  assert.match(two.problems.join(), /one uplink \(dpup0\).*2 networks/);
});

test('pod interfaces get the MAC network-status reports (the shared-block layout knows a pod’s frames by it); a bond keeps its own', async () => {
  const simple = await load(join(SHARED, 'simple-v4-ingress.yaml'));
  const ns = plan(simple).namespaces[0]!;
  const dev = ns.links[0]!.inner;
  const mac = ns.macs?.[dev];
  assert.match(String(mac), /^02(:[0-9a-f]{2}){5}$/);
  const lines = nsLines(ns);
  assert.ok(lines.indexOf(`link set ${dev} address ${mac}`) >= 0 && lines.indexOf(`link set ${dev} address ${mac}`) < lines.indexOf(`link set ${dev} up`), 'the MAC is set before the link goes up');

  const bond = plan(await load(join(SHARED, 'bond-cni.yaml'))).namespaces.find((n) => n.ref === 'bond-testing/pod-a')!;
  const bl = nsLines(bond);
  const set = bl.indexOf(`link set net3 address ${bond.macs?.['net3']}`);
  assert.ok(set > bl.indexOf('link add net3 type bond mode active-backup miimon 100') && set < bl.indexOf('link set net1 master net3'), 'the bond MAC is set before its links join');
  assert.ok(!bl.some((l) => l.startsWith('link set net1 address')), 'a bond link takes the bond’s MAC');
});
