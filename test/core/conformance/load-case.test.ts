import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { describeError } from '../../../core/api/errors.js';
import type { ConformanceCase } from '../../../core/conformance/case.js';
import { applyStep, caseRepresentors, loadCase, loadCaseFile, parseCase } from '../../../core/conformance/load-case.js';
import { keyOf, type Pod } from '../../../core/model/k8s.js';
import { parseNetworkStatus } from '../../../core/model/network-status.js';
import { validateNamespace, validateNetwork, validatePod } from '../../../core/model/validate.js';

const CASES = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/conformance/cases');
const caseFiles = readdirSync(CASES).filter((f) => f.endsWith('.yaml')).sort();

/** A small valid case; tests change parts of it. */
const base = (): Record<string, unknown> => ({
  name: 'tiny',
  description: 'a client and a server on one network',
  origin: 'own',
  node: 'node-a',
  namespaces: [{ name: 'default' }, { name: 'ns1', labels: { team: 'a' } }],
  networks: [{ namespace: 'default', name: 'net1', type: 'accelerated-bridge' }],
  pods: [
    {
      namespace: 'ns1', name: 'server', labels: { app: 'server' },
      containerPorts: [{ name: 'http', containerPort: 5555 }],
      interfaces: [{ network: 'default/net1', ips: ['10.0.0.1', 'fd00::1'] }],
    },
    { namespace: 'ns1', name: 'client', node: 'node-b', phase: 'Pending', interfaces: [{ network: 'default/net1', name: 'eth9', ips: ['10.0.0.2'] }] },
  ],
  externals: [{ name: 'gw', network: 'default/net1', ips: ['10.0.0.254'] }],
  policies: [
    {
      apiVersion: 'k8s.cni.cncf.io/v1beta1', kind: 'MultiNetworkPolicy',
      metadata: { name: 'allow', namespace: 'ns1', annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'default/net1' } },
      spec: { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: {} }] }] },
    },
  ],
  probes: [
    { from: 'ns1/client', to: 'ns1/server', network: 'default/net1', port: 5555, expect: 'allow' },
    { from: 'external/gw', to: 'ns1/server', network: 'default/net1', family: 'ipv4', protocol: 'UDP', port: 53, expect: 'deny', note: 'not allowed' },
  ],
});

const parse = (c: unknown, source = 'cases/tiny.yaml') => parseCase(stringify(c), source);
function loaded(c: unknown = base()): ConformanceCase {
  const r = parse(c);
  assert.ok(r.ok, r.ok ? '' : r.error.map(describeError).join('\n'));
  return r.value;
}
function errorsOf(c: unknown, source = 'cases/tiny.yaml'): string[] {
  const r = parse(c, source);
  assert.equal(r.ok, false, 'expected the case to be rejected');
  return r.ok ? [] : r.error.map(describeError);
}
const withChange = (f: (c: any) => void): Record<string, unknown> => {
  const c = base();
  f(c);
  return c;
};
const podOf = (c: ConformanceCase, key: string): Pod => {
  const p = c.cluster.pods.find((x) => keyOf(x) === key);
  assert.ok(p, key);
  return p;
};

describe('the shared conformance cases', () => {
  test('there are cases to load', () => assert.ok(caseFiles.length >= 14));
  for (const f of caseFiles) {
    test(`${f} loads without error, and its objects pass validation`, async () => {
      const r = await loadCase(join(CASES, f));
      assert.ok(r.ok, r.ok ? '' : r.error.map(describeError).join('\n'));
      const c = r.value;
      assert.equal(`${c.name}.yaml`, f);
      assert.ok(c.probes.length > 0);
      for (const p of c.cluster.pods) assert.ok(validatePod(p, f).ok, keyOf(p));
      for (const n of c.cluster.networks) assert.ok(validateNetwork(n, f).ok, keyOf(n));
      for (const n of c.cluster.namespaces) assert.ok(validateNamespace(n, f).ok, keyOf(n));
      for (const p of c.cluster.pods) assert.equal(parseNetworkStatus(p).error, undefined);
    });
  }

  test('the bond network config lists the address-less VF interfaces as links', async () => {
    const r = await loadCaseFile(join(CASES, 'bond-cni.yaml'));
    assert.ok(r.ok);
    const configs = Object.fromEntries(r.value.cluster.networks.map((n) => [keyOf(n), JSON.parse(n.spec?.config ?? '')]));
    assert.deepEqual(configs, {
      'default/macvlan-nad': { cniVersion: '1.0.0', name: 'macvlan-nad', type: 'accelerated-bridge' },
      'default/bond-nad': { cniVersion: '1.0.0', name: 'bond-nad', type: 'bond', links: [{ name: 'net1' }, { name: 'net2' }] },
    });
  });

  test('in the bond case only the VF interfaces carry device-info, and every representor is distinct', async () => {
    const r = await loadCaseFile(join(CASES, 'bond-cni.yaml'));
    assert.ok(r.ok);
    const pod = podOf(r.value, 'bond-testing/pod-a');
    const status = parseNetworkStatus(pod).entries;
    assert.deepEqual(status.map((e) => [e.name, e.interface, e.ips, e['device-info']?.type]), [
      ['default/macvlan-nad', 'net1', [], 'pci'],
      ['default/macvlan-nad', 'net2', [], 'pci'],
      ['default/bond-nad', 'net3', ['2.2.6.8'], undefined],
    ]);
    const reps = caseRepresentors(r.value);
    assert.equal(reps.size, 6, 'two VFs for each of three pods');
    for (const [name, where] of reps) {
      assert.match(name, /^[a-z0-9]{1,15}$/);
      assert.equal(where.network, 'default/macvlan-nad');
    }
    assert.deepEqual(reps.get(status[1]?.['device-info']?.pci?.['representor-device'] ?? ''), {
      pod: 'bond-testing/pod-a', interface: 'net2', network: 'default/macvlan-nad',
    });
  });
});

describe('synthesized objects', () => {
  test('namespaces carry their labels and the implied name label', () => {
    const c = loaded();
    assert.deepEqual(c.cluster.namespaces.map((n) => n.metadata.labels), [
      { 'kubernetes.io/metadata.name': 'default' },
      { team: 'a', 'kubernetes.io/metadata.name': 'ns1' },
    ]);
  });

  test('a network becomes a NAD whose config names its CNI type', () => {
    const [nad] = loaded().cluster.networks;
    assert.equal(nad?.spec?.config, '{"cniVersion":"1.0.0","name":"net1","type":"accelerated-bridge"}');
    assert.equal(nad?.metadata.namespace, 'default');
  });

  test('pod defaults: the case node, Running, not hostNetwork; given values are kept', () => {
    const c = loaded();
    const server = podOf(c, 'ns1/server');
    assert.deepEqual([server.spec.nodeName, server.status?.phase, server.spec.hostNetwork], ['node-a', 'Running', false]);
    const client = podOf(c, 'ns1/client');
    assert.deepEqual([client.spec.nodeName, client.status?.phase], ['node-b', 'Pending']);
  });

  test('container ports sit on one container, protocol defaulted to TCP', () => {
    assert.deepEqual(podOf(loaded(), 'ns1/server').spec.containers, [
      { name: 'main', ports: [{ name: 'http', containerPort: 5555, protocol: 'TCP' }] },
    ]);
  });

  test('the Multus annotations describe the interfaces in order', () => {
    const server = podOf(loaded(), 'ns1/server');
    assert.equal(server.metadata.annotations?.['k8s.v1.cni.cncf.io/networks'], 'default/net1');
    const [e] = parseNetworkStatus(server).entries;
    assert.equal(e?.name, 'default/net1');
    assert.equal(e?.interface, 'net1');
    assert.deepEqual(e?.ips, ['10.0.0.1', 'fd00::1']);
    assert.match(e?.mac ?? '', /^02(:[0-9a-f]{2}){5}$/);
    assert.equal(e?.['device-info']?.type, 'pci');
    assert.equal(e?.['device-info']?.version, '1.1.0');
    assert.match(e?.['device-info']?.pci?.['pci-address'] ?? '', /^0000:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/);
    const client = parseNetworkStatus(podOf(loaded(), 'ns1/client')).entries;
    assert.equal(client[0]?.interface, 'eth9', 'a given interface name is used');
  });

  test('interfaces of other CNI types get no device-info', () => {
    const c = loaded(withChange((x) => (x.networks[0].type = 'macvlan')));
    assert.equal(parseNetworkStatus(podOf(c, 'ns1/server')).entries[0]?.['device-info'], undefined);
  });

  test('identities are deterministic and distinct', () => {
    const a = loaded();
    const b = loaded();
    assert.deepEqual(a, b);
    const uids = a.cluster.pods.map((p) => p.metadata.uid);
    assert.match(uids[0] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(uids[0], uids[1]);
    const pcis = a.cluster.pods.map((p) => parseNetworkStatus(p).entries[0]?.['device-info']?.pci?.['pci-address']);
    assert.notEqual(pcis[0], pcis[1]);
  });

  test('probes get family ipv4 and protocol TCP by default; notes are kept', () => {
    const [p0, p1] = loaded().probes;
    assert.deepEqual(p0, { from: 'ns1/client', to: 'ns1/server', network: 'default/net1', family: 'ipv4', protocol: 'TCP', port: 5555, expect: 'allow' });
    assert.equal(p1?.protocol, 'UDP');
    assert.equal(p1?.note, 'not allowed');
  });

  test('the loaded case is frozen', () => {
    const c = loaded();
    assert.ok(Object.isFrozen(c.cluster.pods[0]?.metadata.labels));
  });

  test('prefixes default to /24 and /64, and follow a given prefix', () => {
    assert.deepEqual(loaded().prefixes, { 'default/net1': { ipv4: 24, ipv6: 64 } });
    const c = loaded(withChange((x) => (x.networks[0].prefix = { ipv4: 16 })));
    assert.deepEqual(c.prefixes['default/net1'], { ipv4: 16, ipv6: 64 });
  });
});

describe('case errors name the file, line and field', () => {
  // Lines depend on how the fixture prints; they are checked exactly in the hand-written test below.
  const rows: [string, (c: any) => void, string][] = [
    ['a probe from an undeclared pod', (c) => (c.probes[1].from = 'ns1/p'), 'cases/tiny.yaml:L: probes[1].from: pod ns1/p is not declared'],
    ['a probe from an undeclared external', (c) => (c.probes[1].from = 'external/nope'), 'cases/tiny.yaml:L: probes[1].from: external nope is not declared'],
    ['a probe on an undeclared network', (c) => (c.probes[0].network = 'default/zzz'), 'cases/tiny.yaml:L: probes[0].network: network default/zzz is not declared'],
    ['a probe end without an address of the family', (c) => (c.probes[0].family = 'ipv6'), 'cases/tiny.yaml:L: probes[0].from: pod ns1/client has no ipv6 address on default/net1'],
    ['an external end without an address of the family', (c) => (c.probes[1].family = 'ipv6'), 'cases/tiny.yaml:L: probes[1].from: external gw has no ipv6 address on default/net1'],
    ['a probe with no local pod', (c) => (c.probes[0].to = 'external/gw'), "cases/tiny.yaml:L: probes[0]: neither end is a pod on the case's node node-a"],
    ['a probe from a pod to itself', (c) => (c.probes[0].from = 'ns1/server'), 'cases/tiny.yaml:L: probes[0].to: is the same endpoint as from'],
    ['a pod in an undeclared namespace', (c) => c.pods.push({ namespace: 'ghost', name: 'x' }), 'cases/tiny.yaml:L: pods[2].namespace: namespace ghost is not declared'],
    ['a network in an undeclared namespace', (c) => c.networks.push({ namespace: 'ghost', name: 'x', type: 'bond' }), 'cases/tiny.yaml:L: networks[1].namespace: namespace ghost is not declared'],
    ['an interface on an undeclared network', (c) => c.pods[1].interfaces.push({ network: 'default/zzz', ips: [] }), 'cases/tiny.yaml:L: pods[1].interfaces[1].network: network default/zzz is not declared'],
    ['an external on an undeclared network', (c) => {
      c.externals[0].network = 'default/zzz';
      c.probes.pop();
    }, 'cases/tiny.yaml:L: externals[0].network: network default/zzz is not declared'],
    ['a policy in an undeclared namespace', (c) => (c.policies[0].metadata.namespace = 'ghost'), 'cases/tiny.yaml:L: policies[0].metadata.namespace: namespace ghost is not declared'],
    ['a duplicate pod', (c) => c.pods.push({ ...c.pods[0] }), 'cases/tiny.yaml:L: pods[2].name: duplicate pod ns1/server'],
    ['an interface name used twice', (c) => c.pods[1].interfaces.push({ network: 'default/net1', name: 'eth9', ips: [] }), 'cases/tiny.yaml:L: pods[1].interfaces[1]: interface name eth9 is used twice in the pod'],
    ['an unknown field', (c) => (c.probes[0].expext = 'allow'), 'cases/tiny.yaml:L: probes[0].expext: is not a known field'],
    ['an invalid address', (c) => (c.pods[0].interfaces[0].ips[1] = 'fd00::1::2'), 'cases/tiny.yaml:L: pods[0].interfaces[0].ips[1]: "fd00::1::2" is not a valid IP address'],
    ['a bad expect', (c) => (c.probes[0].expect = 'maybe'), 'cases/tiny.yaml:L: probes[0].expect: must be one of allow, deny (got "maybe")'],
    ['a port out of range', (c) => (c.probes[0].port = 0), 'cases/tiny.yaml:L: probes[0].port: must be between 1 and 65535 (got 0)'],
    ['a numeric label value', (c) => (c.pods[0].labels.app = 5), 'cases/tiny.yaml:L: pods[0].labels.app: must be a string (got 5; quote it in YAML)'],
    ['a missing field', (c) => delete c.node, 'cases/tiny.yaml:L: node: is required'],
  ];
  for (const [what, change, message] of rows) {
    test(what, () => assert.deepEqual(errorsOf(withChange(change)).map((e) => e.replace(/^([^:]+):\d+:/, '$1:L:')), [message]));
  }

  test('the line is the line of the field in the file', () => {
    const text = [
      'name: tiny', //                                       1
      'description: lines',
      'node: node-a',
      'namespaces: [{name: ns1}]',
      'networks:', //                                         5
      '  - {namespace: ns1, name: net1, type: accelerated-bridge}',
      'pods:',
      '  - namespace: ns1',
      '    name: a',
      '    interfaces: [{network: ns1/net1, ips: [10.0.0.1]}]', // 10
      'probes:',
      '  - from: ns1/a',
      '    to: ns1/p',
      '    network: ns1/net1',
      '    port: 80', //                                       15
      '    expect: deny',
    ].join('\n');
    const r = parseCase(text, 'cases/tiny.yaml');
    assert.ok(!r.ok);
    assert.deepEqual(r.error.map(describeError), ['cases/tiny.yaml:13: probes[0].to: pod ns1/p is not declared']);
    const bad = parseCase(text.replace('port: 80', 'port: 80\n    protocol: ICMP'), 'cases/tiny.yaml');
    assert.ok(!bad.ok);
    assert.deepEqual(bad.error.map(describeError), ['cases/tiny.yaml:16: probes[0].protocol: must be one of TCP, UDP, SCTP (got "ICMP")']);
  });

  test('an invalid policy is an error naming the file, line and field', () => {
    const c = withChange((x) => (x.policies[0].spec.ingress[0].from[0] = { ipBlock: { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] } }));
    assert.deepEqual(errorsOf(c).map((e) => e.replace(/^([^:]+):\d+:/, '$1:L:')), [
      'cases/tiny.yaml:L: MultiNetworkPolicy ns1/allow: policies[0].spec.ingress[0].from[0].ipBlock.except[0]: 192.168.0.0/16 must be strictly inside cidr 10.0.0.0/8',
    ]);
  });

  test('the case name must be the file name', () => {
    assert.deepEqual(errorsOf(base(), 'cases/other.yaml'), ['cases/other.yaml:1: name: must equal the file name other']);
  });

  test('malformed YAML names the line', () => {
    const r = parseCase('name: tiny\nprobes: [\n  {from: a\nnode: x\n', 'cases/tiny.yaml');
    assert.ok(!r.ok);
    assert.match(describeError(r.error[0]!), /^cases\/tiny\.yaml:\d+: /);
    assert.equal(r.error[0]?.code === 'file-invalid' && r.error[0].line !== undefined, true);
  });

  test('several problems are all reported; loadCaseFile gives the first', async () => {
    const errs = errorsOf(withChange((c) => {
      c.probes[0].from = 'ns1/a';
      c.probes[1].from = 'ns1/b';
    }));
    assert.equal(errs.length, 2);
    const missing = await loadCaseFile('/nonexistent/x.yaml');
    assert.ok(!missing.ok);
    assert.equal(describeError(missing.error), '/nonexistent/x.yaml: no such file or directory');
  });
});

describe('steps', () => {
  const withSteps = (steps: unknown[]) => withChange((c) => (c.steps = steps));

  test('apply replaces and creates, delete removes; step probes see the state after the step', () => {
    const c = loaded(withSteps([
      {
        description: 'relabel the client and add a second network',
        apply: {
          networks: [{ namespace: 'default', name: 'net2', type: 'accelerated-bridge' }],
          pods: [{ namespace: 'ns1', name: 'client', labels: { app: 'x' }, interfaces: [{ network: 'default/net2', ips: ['10.1.0.2'] }] }],
          externals: [{ name: 'gw2', network: 'default/net2', ips: ['10.1.0.254'] }],
        },
        delete: [{ kind: 'MultiNetworkPolicy', namespace: 'ns1', name: 'allow' }],
        probes: [{ from: 'ns1/client', to: 'external/gw2', network: 'default/net2', port: 80, expect: 'allow' }],
      },
    ]));
    const [step] = c.steps;
    assert.ok(step);
    assert.equal(step.apply.pods.length, 1);
    assert.equal(step.probes[0]?.family, 'ipv4');
    const after = applyStep(c.cluster, c.externals, step);
    assert.deepEqual(after.cluster.pods.map(keyOf), ['ns1/server', 'ns1/client']);
    assert.deepEqual(podOf({ ...c, cluster: after.cluster }, 'ns1/client').metadata.labels, { app: 'x' });
    assert.deepEqual(after.cluster.networks.map(keyOf), ['default/net1', 'default/net2']);
    assert.deepEqual(after.cluster.policies, []);
    assert.deepEqual(after.externals.map((x) => x.name), ['gw', 'gw2']);
    assert.deepEqual(c.cluster.policies.length, 1, 'the initial cluster is unchanged');
  });

  test('deleting a namespace deletes everything in it', () => {
    const c = loaded(withSteps([{ description: 'drop ns1', delete: [{ kind: 'Namespace', name: 'ns1' }] }]));
    const after = applyStep(c.cluster, c.externals, c.steps[0]!);
    assert.deepEqual(after.cluster.namespaces.map((n) => n.metadata.name), ['default']);
    assert.deepEqual([after.cluster.pods, after.cluster.policies], [[], []]);
    assert.deepEqual(after.cluster.networks.map(keyOf), ['default/net1']);
  });

  test('a step probe to a pod the step deleted is an error', () => {
    const errs = errorsOf(withSteps([
      {
        description: 'delete the server',
        delete: [{ kind: 'Pod', namespace: 'ns1', name: 'server' }],
        probes: [{ from: 'external/gw', to: 'ns1/server', network: 'default/net1', port: 80, expect: 'deny' }],
      },
    ]));
    assert.equal(errs.length, 2, errs.join('\n'));
    assert.match(errs[0] ?? '', /steps\[0\]\.probes\[0\]\.to: pod ns1\/server is not declared$/);
    assert.match(errs[1] ?? '', /steps\[0\]\.probes\[0\]: neither end is a pod on the case's node node-a$/);
  });

  test('deleting something that does not exist is an error', () => {
    assert.deepEqual(
      errorsOf(withSteps([{ description: 'x', delete: [{ kind: 'Pod', namespace: 'ns1', name: 'ghost' }] }])).map((e) => e.replace(/:\d+:/, ':L:')),
      ['cases/tiny.yaml:L: steps[0].delete[0]: Pod ns1/ghost does not exist'],
    );
  });

  test('a step may replace an existing pod, but not name one pod twice', () => {
    const twice = { namespace: 'ns1', name: 'server', interfaces: [{ network: 'default/net1', ips: ['10.0.0.1'] }] };
    assert.deepEqual(
      errorsOf(withSteps([{ description: 'x', apply: { pods: [twice, twice] } }])).map((e) => e.replace(/:\d+:/, ':L:')),
      ['cases/tiny.yaml:L: steps[0].apply.pods[1].name: duplicate pod ns1/server'],
    );
  });

  test('representors of pods added by steps are listed too', () => {
    const c = loaded(withSteps([
      { description: 'add a pod', apply: { pods: [{ namespace: 'ns1', name: 'late', interfaces: [{ network: 'default/net1', ips: ['10.0.0.9'] }] }] } },
    ]));
    const pods = [...caseRepresentors(c).values()].map((r) => r.pod).sort();
    assert.deepEqual(pods, ['ns1/client', 'ns1/late', 'ns1/server']);
  });
});
