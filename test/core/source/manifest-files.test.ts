import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { describeError } from '../../../core/api/errors.js';
import { keyOf } from '../../../core/model/k8s.js';
import { loadManifests, parseManifests } from '../../../core/source/manifest-files.js';

const policyYaml = (name: string, cidr = '10.0.0.0/8') => `apiVersion: k8s.cni.cncf.io/v1beta1
kind: MultiNetworkPolicy
metadata:
  name: ${name}
  namespace: app
  annotations:
    k8s.v1.cni.cncf.io/policy-for: net1
spec:
  podSelector:
    matchLabels: {role: db}
  policyTypes: [Ingress]
  ingress:
    - from:
        - ipBlock:
            cidr: ${cidr}
`;

const podYaml = (name: string, ns = 'app') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: {role: db}}
spec:
  nodeName: worker-1
  containers: [{name: c, image: x}]
status: {phase: Running}
`;

describe('loadManifests over a directory tree', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mnp-manifests-'));
    await mkdir(join(dir, 'b-sub', 'deeper'), { recursive: true });
    await mkdir(join(dir, '.hidden'));
    await writeFile(join(dir, 'a-namespace.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: app, labels: {team: a}}\n');
    await writeFile(
      join(dir, 'b-sub', 'multi.yml'),
      `${podYaml('db-1')}---\n${podYaml('db-2', 'other')}---\n# only a comment\n---\n${policyYaml('allow-db')}`,
    );
    await writeFile(
      join(dir, 'b-sub', 'deeper', 'list.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'net1', namespace: 'app' }, spec: { config: '{"type":"accelerated-bridge"}' } },
          { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [] } },
        ],
      }),
    );
    // a typed list as the API server returns it: items without kind and apiVersion
    await writeFile(join(dir, 'c-podlist.yaml'), `apiVersion: v1\nkind: PodList\nitems:\n  - metadata: {name: listed, namespace: app}\n    spec: {}\n`);
    await writeFile(join(dir, 'notes.txt'), 'kind: Deployment\n');
    await writeFile(join(dir, '.hidden', 'x.yaml'), 'kind: Deployment\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('every object of every file is loaded, entries of each directory in sorted order, without errors', async () => {
    const { cluster, errors } = await loadManifests([dir]);
    assert.deepEqual(errors.map(describeError), []);
    // a-namespace.yaml, b-sub/deeper/list.json, b-sub/multi.yml, c-podlist.yaml
    assert.deepEqual(cluster.pods.map(keyOf), ['default/web', 'app/db-1', 'other/db-2', 'app/listed']);
    assert.deepEqual(cluster.networks.map(keyOf), ['app/net1']);
    assert.deepEqual(cluster.policies.map(keyOf), ['app/allow-db']);
    assert.deepEqual(cluster.invalidPolicies, []);
  });

  test('namespaces: declared ones keep their labels, used ones are implied, all get the name label', async () => {
    const { cluster } = await loadManifests([dir]);
    assert.deepEqual(
      cluster.namespaces.map((n) => [n.metadata.name, n.metadata.labels]),
      [
        ['app', { team: 'a', 'kubernetes.io/metadata.name': 'app' }],
        ['default', { 'kubernetes.io/metadata.name': 'default' }],
        ['other', { 'kubernetes.io/metadata.name': 'other' }],
      ],
    );
  });

  test('the cluster is frozen', async () => {
    const { cluster } = await loadManifests([dir]);
    assert.ok(Object.isFrozen(cluster.pods));
    assert.ok(Object.isFrozen(cluster.pods[0]?.metadata));
  });

  test('a file given by name is read whatever its extension, and one given twice is read once', async () => {
    const { cluster, errors } = await loadManifests([join(dir, 'a-namespace.yaml'), join(dir, 'notes.txt'), join(dir, 'a-namespace.yaml')]);
    assert.equal(cluster.namespaces.length, 1);
    assert.deepEqual(errors.map(describeError), [`${join(dir, 'notes.txt')}:1: document 1: unknown kind Deployment`]);
  });

  test('a missing path is an error naming it; the other paths still load', async () => {
    const missing = join(dir, 'nope.yaml');
    const { cluster, errors } = await loadManifests([missing, join(dir, 'a-namespace.yaml')]);
    assert.deepEqual(errors.map(describeError), [`${missing}: no such file or directory`]);
    assert.equal(cluster.namespaces.length, 1);
  });
});

describe('parseManifests errors', () => {
  const load = (text: string) => parseManifests([{ source: 'm.yaml', text }]);
  const messages = (text: string) => load(text).errors.map(describeError);

  test('an unknown kind names the file, line, document index and kind, and does not stop the others', () => {
    const text = `${podYaml('a')}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\n${podYaml('b')}`;
    const { cluster, errors } = load(text);
    assert.deepEqual(errors.map(describeError), ['m.yaml:10: document 2: unknown kind Deployment']);
    assert.deepEqual(cluster.pods.map(keyOf), ['app/a', 'app/b']);
  });

  test('an unknown kind inside a List names the item', () => {
    assert.deepEqual(messages('apiVersion: v1\nkind: List\nitems:\n  - kind: Namespace\n    apiVersion: v1\n    metadata: {name: a}\n  - kind: Service\n'), [
      'm.yaml:7: document 1 items[1]: unknown kind Service',
    ]);
  });

  test('malformed YAML names the file and line, and later documents still load', () => {
    const { cluster, errors } = load(`${podYaml('a')}---\nkind: Pod\nmetadata: {name: [x\n---\n${podYaml('b')}`);
    assert.equal(errors.length, 1);
    const e = errors[0];
    assert.equal(e?.code, 'file-invalid');
    assert.match(describeError(e!), /^m\.yaml:1[0-1]: document 2: /);
    assert.deepEqual(cluster.pods.map(keyOf), ['app/a', 'app/b']);
  });

  test('a duplicate key is malformed YAML', () => {
    assert.match(messages('kind: Namespace\nkind: Namespace\n')[0] ?? '', /^m\.yaml:2: document 1: Map keys must be unique/);
  });

  test('an invalid CIDR names the file, line, policy and field; the policy is kept as invalid', () => {
    const { cluster, errors } = load(`${podYaml('a')}---\n${policyYaml('bad', '10.0.0.0/40')}`);
    assert.deepEqual(errors.map(describeError), [
      'm.yaml:23: MultiNetworkPolicy app/bad: spec.ingress[0].from[0].ipBlock.cidr: "10.0.0.0/40" is not a valid CIDR (an IPv4 or IPv6 address, "/", a prefix length)',
    ]);
    assert.deepEqual(cluster.policies, []);
    assert.equal(cluster.invalidPolicies.length, 1);
    assert.deepEqual(cluster.invalidPolicies[0], {
      namespace: 'app',
      name: 'bad',
      annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'net1' },
      podSelector: { matchLabels: { role: 'db' } },
      policyTypes: ['Ingress'],
      field: 'spec.ingress[0].from[0].ipBlock.cidr',
      problem: '"10.0.0.0/40" is not a valid CIDR (an IPv4 or IPv6 address, "/", a prefix length)',
    });
    assert.deepEqual(cluster.namespaces.map((n) => n.metadata.name), ['app'], 'the invalid policy namespace is implied too');
  });

  test('an invalid pod is an error and is left out', () => {
    const { cluster, errors } = load('apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec:\n  hostNetwork: maybe\n');
    assert.deepEqual(errors.map(describeError), ['m.yaml:5: Pod x/a: spec.hostNetwork: must be true or false (got "maybe")']);
    assert.deepEqual(cluster.pods, []);
  });

  test('a wrong apiVersion, a missing kind and a scalar document are errors', () => {
    assert.deepEqual(messages('apiVersion: k8s.cni.cncf.io/v1\nkind: MultiNetworkPolicy\nmetadata: {name: p, namespace: n}\nspec: {podSelector: {}}\n'), [
      'm.yaml:1: MultiNetworkPolicy n/p: apiVersion: must be k8s.cni.cncf.io/v1beta1 for kind MultiNetworkPolicy (got "k8s.cni.cncf.io/v1")',
    ]);
    assert.deepEqual(messages('apiVersion: v1\nmetadata: {name: a}\n'), ['m.yaml:1: document 1: kind is required']);
    assert.deepEqual(messages('just text\n'), ['m.yaml:1: document 1: is not a Kubernetes object (a mapping with apiVersion and kind)']);
  });

  test('the same object twice is an error naming where it was first defined', () => {
    assert.deepEqual(messages(`${podYaml('a')}---\n${podYaml('a')}`), ['m.yaml:11: Pod app/a: metadata.name: Pod app/a is already defined in m.yaml:1']);
  });

  test('empty input is an empty cluster', () => {
    const { cluster, errors } = load('');
    assert.deepEqual(errors, []);
    assert.deepEqual(cluster, { namespaces: [], pods: [], networks: [], policies: [], invalidPolicies: [] });
  });
});
