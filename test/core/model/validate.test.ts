import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeError, type AgentError } from '../../../core/api/errors.js';
import { isValidSelector, validateNamespace, validateNetwork, validatePod, validatePolicy } from '../../../core/model/validate.js';

const POLICY_FOR = 'k8s.v1.cni.cncf.io/policy-for';

const policy = (spec: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'k8s.cni.cncf.io/v1beta1',
  kind: 'MultiNetworkPolicy',
  metadata: { name: 'p', namespace: 'ns', annotations: { [POLICY_FOR]: 'net1' } },
  spec,
  ...extra,
});
const ingressFrom = (...peers: unknown[]) => ({ podSelector: {}, ingress: [{ from: peers }] });
const egressTo = (...peers: unknown[]) => ({ podSelector: {}, egress: [{ to: peers }] });
const ports = (...p: unknown[]) => ({ podSelector: {}, ingress: [{ ports: p }] });
const sel = (s: unknown) => ({ podSelector: s });
const ipBlock = (cidr: string, except?: string[]) => ({ ipBlock: except ? { cidr, except } : { cidr } });
const expr = (operator: string, values?: unknown[]) => ({ podSelector: { matchExpressions: [{ key: 'app', operator, ...(values ? { values } : {}) }] } });

function problemOf(obj: unknown): { field: string; problem: string; text: string } {
  const r = validatePolicy(obj, 'f.yaml');
  assert.equal(r.ok, false, 'expected the policy to be rejected');
  if (r.ok) throw new Error('unreachable');
  assert.equal(r.error.code, 'input-invalid');
  const e = r.error as Extract<AgentError, { code: 'input-invalid' }>;
  assert.equal(e.field, r.invalid.field);
  assert.equal(e.problem, r.invalid.problem);
  return { field: e.field, problem: e.problem, text: describeError(e) };
}

describe('validatePolicy accepts', () => {
  const valid: [string, unknown][] = [
    ['the minimal spec (podSelector {})', policy({ podSelector: {} })],
    ['every selector operator with well-formed values', policy({
      podSelector: {
        matchLabels: { 'app.kubernetes.io/name': 'web', tier: '', 'a_b.c-d': 'X.y_z-1' },
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['x', 'y'] },
          { key: 'b', operator: 'NotIn', values: ['z'] },
          { key: 'c', operator: 'Exists' },
          { key: 'd', operator: 'DoesNotExist', values: [] },
        ],
      },
    })],
    ['podSelector and namespaceSelector in one peer', policy(ingressFrom({ podSelector: {}, namespaceSelector: { matchLabels: { team: 'a' } } }))],
    ['a namespaceSelector-only peer', policy(egressTo({ namespaceSelector: {} }))],
    ['an IPv4 ipBlock with host bits and excepts strictly inside', policy(egressTo(ipBlock('10.1.2.3/16', ['10.1.0.0/24', '10.1.200.7/32'])))],
    ['an IPv6 ipBlock with an except inside', policy(ingressFrom(ipBlock('2001:db8::/32', ['2001:db8:1::/48'])))],
    ['an IPv4-in-IPv6 form and /0', policy(egressTo(ipBlock('::ffff:10.0.0.0/104'), ipBlock('0.0.0.0/0')))],
    ['numeric, named, ranged and protocol-only ports', policy(ports(
      { port: 1 }, { port: 65535, protocol: 'UDP' }, { port: 'http' }, { port: 'h2c-alt' }, { port: 'abcdefghijklmno' },
      { protocol: 'SCTP' }, { port: 5000, endPort: 5000 }, { port: 5000, endPort: 65535, protocol: 'TCP' }, {},
    ))],
    ['both policyTypes', policy({ podSelector: {}, policyTypes: ['Egress', 'Ingress'], ingress: [{}], egress: [] })],
    ['unknown extra fields everywhere', policy(
      { podSelector: { matchLabels: {}, future: 1 }, extra: true, ingress: [{ from: [{ podSelector: {}, x: 1 }], y: [] }] },
      { status: { anything: 1 }, metadata: { name: 'p', namespace: 'ns', managedFields: [{}], generation: 3 } },
    )],
  ];
  for (const [name, obj] of valid) {
    test(name, () => {
      const r = validatePolicy(obj, 'api');
      assert.ok(r.ok, r.ok ? '' : describeError(r.error));
      assert.equal(r.value, obj, 'the object itself is returned');
    });
  }
});

describe('validatePolicy rejects, naming the field', () => {
  // [what, policy, field, problem pattern]
  const rows: [string, unknown, string, RegExp][] = [
    ['a missing podSelector', policy({}), 'spec.podSelector', /is required/],
    ['a missing spec', { apiVersion: 'k8s.cni.cncf.io/v1beta1', kind: 'MultiNetworkPolicy', metadata: { name: 'p', namespace: 'ns' } }, 'spec', /is required/],
    ['a missing namespace', { metadata: { name: 'p' }, spec: { podSelector: {} } }, 'metadata.namespace', /is required/],
    ['a wrong apiVersion', policy({ podSelector: {} }, { apiVersion: 'k8s.cni.cncf.io/v1' }), 'apiVersion', /must be k8s\.cni\.cncf\.io\/v1beta1/],
    ['a non-string annotation', { ...policy({ podSelector: {} }), metadata: { name: 'p', namespace: 'ns', annotations: { [POLICY_FOR]: 3 } } },
      'metadata.annotations["k8s.v1.cni.cncf.io/policy-for"]', /must be a string \(got 3; quote it in YAML\)/],
    // policyTypes
    ['an unknown policy type', policy({ podSelector: {}, policyTypes: ['Both'] }), 'spec.policyTypes[0]', /must be one of Ingress, Egress \(got "Both"\)/],
    ['a duplicate policy type', policy({ podSelector: {}, policyTypes: ['Ingress', 'Egress', 'Ingress'] }), 'spec.policyTypes[2]', /"Ingress" is listed twice \(also at index 0\)/],
    ['policyTypes that is not a list', policy({ podSelector: {}, policyTypes: 'Ingress' }), 'spec.policyTypes', /must be a list/],
    // selectors
    ['an unknown operator', policy(expr('Equals', ['x'])), 'spec.podSelector.matchExpressions[0].operator', /one of In, NotIn, Exists, DoesNotExist/],
    ['In without values', policy(expr('In')), 'spec.podSelector.matchExpressions[0].values', /must not be empty for operator In/],
    ['NotIn with an empty list', policy(expr('NotIn', [])), 'spec.podSelector.matchExpressions[0].values', /must not be empty for operator NotIn/],
    ['Exists with values', policy(expr('Exists', ['x'])), 'spec.podSelector.matchExpressions[0].values', /must be empty for operator Exists/],
    ['DoesNotExist with values', policy(expr('DoesNotExist', ['x'])), 'spec.podSelector.matchExpressions[0].values', /must be empty for operator DoesNotExist/],
    ['a requirement without key', policy(sel({ matchExpressions: [{ operator: 'Exists' }] })), 'spec.podSelector.matchExpressions[0].key', /is required/],
    ['an invalid requirement key', policy(sel({ matchExpressions: [{ key: 'a b', operator: 'Exists' }] })), 'spec.podSelector.matchExpressions[0].key', /"a b" is not a valid label key/],
    ['an invalid requirement value', policy(sel({ matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'not ok'] }] })), 'spec.podSelector.matchExpressions[0].values[1]', /"not ok" is not a valid label value/],
    ['a label key with a space', policy(sel({ matchLabels: { 'bad key': 'x' } })), 'spec.podSelector.matchLabels', /key "bad key" is not a valid label key/],
    ['a label key with an upper-case prefix', policy(sel({ matchLabels: { 'Example.com/app': 'x' } })), 'spec.podSelector.matchLabels', /key "Example.com\/app"/],
    ['a label key with two slashes', policy(sel({ matchLabels: { 'a/b/c': 'x' } })), 'spec.podSelector.matchLabels', /key "a\/b\/c"/],
    ['a label key name of 64 characters', policy(sel({ matchLabels: { ['k'.repeat(64)]: 'x' } })), 'spec.podSelector.matchLabels', /is not a valid label key/],
    ['a label key with an empty prefix', policy(sel({ matchLabels: { '/app': 'x' } })), 'spec.podSelector.matchLabels', /key "\/app"/],
    ['a label value of 64 characters', policy(sel({ matchLabels: { app: 'v'.repeat(64) } })), 'spec.podSelector.matchLabels.app', /is not a valid label value/],
    ['a label value starting with "-"', policy(sel({ matchLabels: { app: '-web' } })), 'spec.podSelector.matchLabels.app', /"-web" is not a valid label value/],
    ['a numeric label value', policy(sel({ matchLabels: { version: 2 } })), 'spec.podSelector.matchLabels.version', /must be a string \(got 2; quote it in YAML\)/],
    ['an invalid peer namespaceSelector', policy(ingressFrom({ namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } })),
      'spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values', /must not be empty/],
    // peers
    ['an empty peer', policy(ingressFrom({ podSelector: {} }, {})), 'spec.ingress[0].from[1]', /empty peer is not allowed/],
    ['ipBlock with a podSelector', policy(ingressFrom({ ...ipBlock('10.0.0.0/8'), podSelector: {} })), 'spec.ingress[0].from[0].ipBlock', /cannot be combined/],
    ['ipBlock with a namespaceSelector', policy(egressTo({ ...ipBlock('10.0.0.0/8'), namespaceSelector: {} })), 'spec.egress[0].to[0].ipBlock', /cannot be combined/],
    ['an ipBlock without cidr', policy(egressTo({ ipBlock: { except: [] } })), 'spec.egress[0].to[0].ipBlock.cidr', /is required/],
    ['a prefix length over 32', policy(egressTo(ipBlock('10.0.0.0/33'))), 'spec.egress[0].to[0].ipBlock.cidr', /"10.0.0.0\/33" is not a valid CIDR/],
    ['a prefix length over 128', policy(egressTo(ipBlock('2001:db8::/129'))), 'spec.egress[0].to[0].ipBlock.cidr', /not a valid CIDR/],
    ['an address without prefix', policy(egressTo(ipBlock('10.0.0.1'))), 'spec.egress[0].to[0].ipBlock.cidr', /not a valid CIDR/],
    ['an octet with a leading zero', policy(egressTo(ipBlock('10.0.0.01/32'))), 'spec.egress[0].to[0].ipBlock.cidr', /not a valid CIDR/],
    ['an IPv6 zone', policy(egressTo(ipBlock('fe80::1%eth0/64'))), 'spec.egress[0].to[0].ipBlock.cidr', /not a valid CIDR/],
    ['an invalid except', policy(ingressFrom({ podSelector: {} }, ipBlock('10.0.0.0/8', ['10.0.0.0/8x']))),
      'spec.ingress[0].from[1].ipBlock.except[0]', /"10.0.0.0\/8x" is not a valid CIDR/],
    ['an except outside cidr', policy(ingressFrom({ podSelector: {} }, ipBlock('10.0.0.0/8', ['11.0.0.0/16']))),
      'spec.ingress[0].from[1].ipBlock.except[0]', /11.0.0.0\/16 must be strictly inside cidr 10.0.0.0\/8/],
    ['an except equal to cidr', policy(egressTo(ipBlock('10.1.0.0/16', ['10.1.0.0/24', '10.1.0.0/16']))), 'spec.egress[0].to[0].ipBlock.except[1]', /strictly inside/],
    ['an except wider than cidr', policy(egressTo(ipBlock('10.1.0.0/16', ['10.0.0.0/8']))), 'spec.egress[0].to[0].ipBlock.except[0]', /strictly inside/],
    ['an except of the other family', policy(egressTo(ipBlock('10.0.0.0/8', ['::/96']))), 'spec.egress[0].to[0].ipBlock.except[0]', /is IPv6 but cidr 10.0.0.0\/8 is IPv4/],
    // ports
    ['protocol ICMP', policy(ports({ protocol: 'ICMP' })), 'spec.ingress[0].ports[0].protocol', /one of TCP, UDP, SCTP \(got "ICMP"\)/],
    ['a lower-case protocol', policy(ports({ protocol: 'tcp' })), 'spec.ingress[0].ports[0].protocol', /one of TCP, UDP, SCTP/],
    ['port 0', policy(ports({ port: 0 })), 'spec.ingress[0].ports[0].port', /must be between 1 and 65535 \(got 0\)/],
    ['port 65536', policy(ports({ port: 80 }, { port: 65536 })), 'spec.ingress[0].ports[1].port', /between 1 and 65535/],
    ['a fractional port', policy(ports({ port: 1.5 })), 'spec.ingress[0].ports[0].port', /port number \(1-65535\) or a port name/],
    ['an upper-case port name', policy(ports({ port: 'HTTP' })), 'spec.ingress[0].ports[0].port', /or a port name .*\(got "HTTP"\)/],
    ['a port name of 16 characters', policy(ports({ port: 'abcdefghijklmnop' })), 'spec.ingress[0].ports[0].port', /port name/],
    ['a port name without a letter', policy(ports({ port: '8080' })), 'spec.ingress[0].ports[0].port', /port name/],
    ['a port name starting with "-"', policy(ports({ port: '-http' })), 'spec.ingress[0].ports[0].port', /port name/],
    ['a port name ending with "-"', policy(ports({ port: 'http-' })), 'spec.ingress[0].ports[0].port', /port name/],
    ['a port name with "--"', policy(ports({ port: 'ht--tp' })), 'spec.ingress[0].ports[0].port', /port name/],
    ['an empty port name', policy(ports({ port: '' })), 'spec.ingress[0].ports[0].port', /port name/],
    ['endPort without port', policy(ports({ endPort: 90 })), 'spec.ingress[0].ports[0].endPort', /needs a numeric port \(port is not set\)/],
    ['endPort with a named port', policy(ports({ port: 'http', endPort: 90 })), 'spec.ingress[0].ports[0].endPort', /needs a numeric port \(port is the name "http"\)/],
    ['endPort below port', policy(ports({ port: 100, endPort: 90 })), 'spec.ingress[0].ports[0].endPort', /must be at least port \(100\), got 90/],
    ['endPort above 65535', policy(ports({ port: 100, endPort: 70000 })), 'spec.ingress[0].ports[0].endPort', /between 1 and 65535/],
    ['a string endPort', policy(ports({ port: 100, endPort: '200' })), 'spec.ingress[0].ports[0].endPort', /must be an integer/],
    // shapes
    ['ingress that is not a list', policy({ podSelector: {}, ingress: {} }), 'spec.ingress', /must be a list \(got a mapping\)/],
    ['a null rule', policy({ podSelector: {}, egress: [null] }), 'spec.egress[0]', /must be a mapping \(got null\)/],
  ];
  for (const [what, obj, field, problem] of rows) {
    test(`${what} → ${field}`, () => {
      const got = problemOf(obj);
      assert.equal(got.field, field);
      assert.match(got.problem, problem);
    });
  }

  test('the message names source, object, field and problem', () => {
    const r = validatePolicy(policy(ingressFrom({ podSelector: {} }, ipBlock('10.0.0.0/8', ['11.0.0.0/16']))), 'dir/policy.yaml');
    assert.ok(!r.ok);
    assert.equal(
      describeError(r.error),
      'dir/policy.yaml: MultiNetworkPolicy ns/p: spec.ingress[0].from[1].ipBlock.except[0]: 11.0.0.0/16 must be strictly inside cidr 10.0.0.0/8',
    );
  });

  test('something that is not an object is rejected without a crash', () => {
    const r = validatePolicy(null, 'api');
    assert.ok(!r.ok);
    assert.equal(describeError(r.error), 'api: MultiNetworkPolicy <unnamed>: (object): must be a mapping (got null)');
    assert.deepEqual(r.invalid, { namespace: '', name: '', annotations: {}, field: '(object)', problem: 'must be a mapping (got null)' });
  });
});

describe('an invalid policy keeps what the renderer needs to fail closed', () => {
  const badRule = { ingress: [{ from: [{}] }] };
  test('name, namespace and annotations are kept', () => {
    const r = validatePolicy(policy({ podSelector: {}, ...badRule }), 'api');
    assert.ok(!r.ok);
    assert.equal(r.invalid.namespace, 'ns');
    assert.equal(r.invalid.name, 'p');
    assert.deepEqual(r.invalid.annotations, { [POLICY_FOR]: 'net1' });
  });
  test('a valid podSelector is kept', () => {
    const r = validatePolicy(policy({ podSelector: { matchLabels: { app: 'db' } }, ...badRule }), 'api');
    assert.ok(!r.ok);
    assert.deepEqual(r.invalid.podSelector, { matchLabels: { app: 'db' } });
  });
  test('an invalid podSelector is dropped (the policy then selects its whole namespace)', () => {
    for (const podSelector of [{ matchExpressions: [{ key: 'a', operator: 'In' }] }, { matchLabels: { app: 1 } }, 'all', undefined]) {
      const r = validatePolicy(policy({ podSelector }), 'api');
      assert.ok(!r.ok);
      assert.equal('podSelector' in r.invalid, false, JSON.stringify(podSelector));
    }
  });
  test('valid explicit policyTypes are kept', () => {
    const r = validatePolicy(policy({ podSelector: {}, policyTypes: ['Egress'], ...badRule }), 'api');
    assert.ok(!r.ok);
    assert.deepEqual(r.invalid.policyTypes, ['Egress']);
  });
  test('invalid policyTypes are dropped (then both directions are affected)', () => {
    for (const policyTypes of [['Ingress', 'Ingress'], ['Sideways'], 'Ingress']) {
      const r = validatePolicy(policy({ podSelector: {}, policyTypes }), 'api');
      assert.ok(!r.ok);
      assert.equal('policyTypes' in r.invalid, false, JSON.stringify(policyTypes));
    }
  });
  test('absent policyTypes default as Kubernetes does: Ingress, plus Egress for a non-empty egress list', () => {
    const types = (spec: Record<string, unknown>) => {
      const r = validatePolicy(policy({ podSelector: { matchLabels: { x: 1 } }, ...spec }), 'api');
      assert.ok(!r.ok);
      return r.invalid.policyTypes;
    };
    assert.deepEqual(types({}), ['Ingress']);
    assert.deepEqual(types({ egress: [] }), ['Ingress']);
    assert.deepEqual(types({ policyTypes: [] }), ['Ingress']);
    assert.deepEqual(types({ egress: [{}] }), ['Ingress', 'Egress']);
    assert.deepEqual(types({ egress: 'broken' }), ['Ingress', 'Egress'], 'an unreadable egress may mean egress rules');
  });
});

describe('isValidSelector', () => {
  test('accepts a valid selector and rejects one that breaks the operator rule', () => {
    assert.equal(isValidSelector({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }), true);
    assert.equal(isValidSelector({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), false);
    assert.equal(isValidSelector(null), false);
  });
});

describe('validatePod / validateNamespace / validateNetwork', () => {
  const pod = (over: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'ns', labels: { app: 'web' }, ownerReferences: [{}] },
    spec: { nodeName: 'n1', hostNetwork: false, containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }], ...spec },
    status: { phase: 'Running', podIPs: [] },
    ...over,
  });
  const fails = (r: { ok: boolean; error?: AgentError }): string => {
    assert.equal(r.ok, false);
    return describeError(r.error as AgentError);
  };

  test('a real-looking pod with extra fields is accepted', () => {
    const p = pod();
    const r = validatePod(p, 'api');
    assert.ok(r.ok);
    assert.equal(r.value, p);
  });
  test('pod errors name the pod and the field', () => {
    assert.equal(
      fails(validatePod(pod({}, { containers: [{ name: 'c', ports: [{ containerPort: 0 }] }] }), 'pods.yaml')),
      'pods.yaml: Pod ns/web: spec.containers[0].ports[0].containerPort: must be between 1 and 65535 (got 0)',
    );
    assert.match(fails(validatePod(pod({}, { hostNetwork: 'yes' }), 'api')), /spec\.hostNetwork: must be true or false \(got "yes"\)/);
    assert.match(fails(validatePod(pod({}, { containers: [{ name: 'c', ports: [{ containerPort: 80, protocol: 'ICMP' }] }] }), 'api')), /ports\[0\]\.protocol: must be one of TCP, UDP, SCTP/);
    assert.match(fails(validatePod(pod({ metadata: { name: 'web', namespace: 'ns', labels: { v: true } } }), 'api')), /metadata\.labels\.v: must be a string/);
    assert.match(fails(validatePod(pod({ metadata: { name: 'web' } }), 'api')), /Pod web: metadata\.namespace: is required/);
    assert.match(fails(validatePod(pod({ status: { phase: 3 } }), 'api')), /status\.phase: must be a string/);
    assert.match(fails(validatePod({ metadata: { name: 'web', namespace: 'ns' } }, 'api')), /: spec: is required/);
  });
  test('namespaces', () => {
    assert.ok(validateNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { team: 'x' } }, status: {} }, 'api').ok);
    assert.equal(fails(validateNamespace({ metadata: {} }, 'api')), 'api: Namespace <unnamed>: metadata.name: is required');
    assert.match(fails(validateNamespace({ metadata: { name: 'a', labels: { n: 1 } } }, 'api')), /Namespace a: metadata\.labels\.n: must be a string/);
    assert.match(fails(validateNamespace({ kind: 'Pod', metadata: { name: 'a' } }, 'api')), /kind: must be Namespace/);
  });
  test('network attachment definitions', () => {
    assert.ok(validateNetwork({ metadata: { name: 'n', namespace: 'ns' }, spec: { config: '{}' } }, 'api').ok);
    assert.ok(validateNetwork({ metadata: { name: 'n', namespace: 'ns' } }, 'api').ok, 'spec is optional (config from files)');
    assert.match(fails(validateNetwork({ metadata: { name: 'n', namespace: 'ns' }, spec: { config: {} } }, 'api')), /NetworkAttachmentDefinition ns\/n: spec\.config: must be a string/);
  });
});
