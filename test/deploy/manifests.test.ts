// Every manifest users install, rendered the way they install it (kustomize base, Helm chart
// with default and with non-default values), validated against the Kubernetes OpenAPI
// schemas of its kind; custom resources against the CRDs shipped here.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { configInput, parse } from '../../core/cli/args.js';
import { validateConfig } from '../../core/config.js';
import { describe as name, ManifestValidator, type Manifest } from './k8s-schema.js';
import { byKind, CHART, helmRenderBinary, helmTemplate, helmTemplateFails, kustomize, parseDocs } from './render.js';

const validator = new ManifestValidator();
const crdDocs = async (): Promise<Manifest[]> => (await Promise.all(['multi-networkpolicy.yaml', 'network-attachment-definition.yaml'].map(async (f) => parseDocs(await readFile(`deploy/crds/${f}`, 'utf8'))))).flat();
before(async () => validator.addCrds(await crdDocs()));

async function assertAllValid(docs: readonly Manifest[]): Promise<void> {
  assert.ok(docs.length > 0);
  const problems: string[] = [];
  for (const d of docs) for (const p of await validator.validate(d)) problems.push(`${name(d)}: ${p}`);
  assert.deepEqual(problems, []);
}

let scratch: string;
const values = async (file: string, v: unknown): Promise<string> => {
  scratch ??= await mkdtemp(join(tmpdir(), 'mnp-values-'));
  const p = join(scratch, file);
  await writeFile(p, JSON.stringify(v));
  return p;
};

const NON_DEFAULT = {
  image: { repository: 'registry.example/mnp-tc', tag: '1.2.3', pullPolicy: 'Always' },
  imagePullSecrets: [{ name: 'pull' }],
  networkPlugins: ['accelerated-bridge', 'bond', 'sriov', 'host-device'],
  tcDriver: 'dry-run',
  plugins: ['mnp-tc-host-device-adapter'],
  podRulesPath: '',
  healthPort: 9300,
  verbosity: 4,
  stateless: true,
  ctZone: 7,
  encapsulations: ['untagged', '802.1Q'],
  layout: 'shared-block',
  uplink: 'p0',
  resyncSeconds: 60,
  extraArgs: ['--once'],
  serviceAccount: { create: false, name: 'existing-sa' },
  rbac: { create: false },
  resources: { requests: { cpu: '50m', memory: '128Mi' } },
  priorityClassName: '',
  nodeSelector: { 'feature.node.kubernetes.io/network-sriov.capable': 'true' },
  tolerations: [],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'switchdev', operator: 'Exists' }] }] } } },
  podAnnotations: { 'prometheus.io/scrape': 'true' },
  podLabels: { team: 'net' },
};

describe('the validator', () => {
  const ds = (spec: Record<string, unknown>): Manifest => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'x' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } } },
  });

  test('accepts a minimal DaemonSet', async () => {
    assert.deepEqual(await validator.validate(ds({})), []);
  });
  test('rejects a misspelt field that the API server would silently drop', async () => {
    assert.deepEqual(await validator.validate(ds({ hostNetwrok: true })), ['unknown field .spec.template.spec.hostNetwrok']);
  });
  test('rejects a wrong type and a missing required field', async () => {
    assert.match((await validator.validate(ds({ containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'http' }] }] })))[0]!, /containerPort must be integer/);
    assert.match((await validator.validate(ds({ containers: [{ image: 'i' }] })))[0]!, /containers\/0 must have required property '?name'?/);
  });
  test('rejects a kind it has no schema for', async () => {
    assert.deepEqual(await validator.validate({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), ['no OpenAPI schema for example.com/v1 Widget']);
  });
});

describe('kustomize base (deploy/kustomize)', () => {
  let docs: Manifest[];
  before(async () => (docs = await kustomize()));

  test('renders the CRDs, the ServiceAccount, the RBAC and the DaemonSet, and all are valid for their kind', async () => {
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'DaemonSet', 'ServiceAccount']);
    await assertAllValid(docs);
  });

  test('the DaemonSet meets the security and operations requirements', () => assertDaemonSet(byKind(docs, 'DaemonSet')[0]!, { port: 9191, serviceAccount: 'multi-networkpolicy-tc', rulesPath: '/var/lib/multi-networkpolicy-tc' }));

  test('the ClusterRoleBinding binds the ClusterRole to the ServiceAccount in its namespace', () => assertBinding(docs));
});

describe('Helm chart (deploy/helm/multi-networkpolicy-tc)', () => {
  test('with default values it renders the same kinds as the kustomize base, all valid', async () => {
    const docs = await helmTemplate('mnp', 'kube-system');
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'DaemonSet', 'ServiceAccount']);
    await assertAllValid(docs);
    assertDaemonSet(byKind(docs, 'DaemonSet')[0]!, { port: 9191, serviceAccount: 'mnp-multi-networkpolicy-tc', rulesPath: '/var/lib/multi-networkpolicy-tc' });
    assertBinding(docs);
  });

  test('its default DaemonSet pod spec equals the kustomize one (only labels and names differ)', async () => {
    const strip = (d: Manifest) => {
      const spec = structuredClone((d['spec'] as { template: { spec: Record<string, unknown> } }).template.spec);
      delete spec['serviceAccountName'];
      return spec;
    };
    const helm = byKind(await helmTemplate('mnp', 'kube-system'), 'DaemonSet')[0]!;
    const kust = byKind(await kustomize(), 'DaemonSet')[0]!;
    const h = strip(helm) as { containers: { image: string }[] };
    const k = strip(kust) as { containers: { image: string }[] };
    assert.equal(h.containers[0]!.image, k.containers[0]!.image);
    assert.deepEqual(h, k);
  });

  test('every flag is a value: non-default values render valid manifests and flags the agent accepts', async () => {
    const docs = await helmTemplate('edge', 'net-system', [await values('all.json', NON_DEFAULT)]);
    // rbac.create=false and serviceAccount.create=false leave only the DaemonSet and the CRDs
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['CustomResourceDefinition', 'CustomResourceDefinition', 'DaemonSet']);
    await assertAllValid(docs);
    const c = container(byKind(docs, 'DaemonSet')[0]!);
    assert.deepEqual(c.args, [
      '--hostname-override=$(NODE_NAME)',
      '--network-plugins=accelerated-bridge,bond,sriov,host-device',
      '--tc-driver=dry-run',
      '--plugin=mnp-tc-host-device-adapter',
      '--health-address=0.0.0.0:9300',
      '-v=4',
      '--stateless',
      '--ct-zone=7',
      '--encapsulations=untagged,802.1Q',
      '--layout=shared-block',
      '--uplink=p0',
      '--resync-seconds=60',
      '--once',
    ]);
    assert.equal(c.image, 'registry.example/mnp-tc:1.2.3');
    const spec = (byKind(docs, 'DaemonSet')[0]!['spec'] as { template: { spec: Record<string, unknown> } }).template.spec;
    assert.equal(spec['serviceAccountName'], 'existing-sa');
    assert.equal(spec['priorityClassName'], undefined);
    assert.equal((spec['volumes'] as { name: string }[]).some((v) => v.name === 'pod-rules'), false);
  });

  for (const [label, v] of [
    ['default', {}],
    ['non-default', NON_DEFAULT],
  ] as const) {
    test(`the rendered args (${label} values) parse and validate with the agent's own flag parser`, async () => {
      const docs = await helmTemplate('mnp', 'kube-system', [await values(`${label}.json`, v)]);
      const args = container(byKind(docs, 'DaemonSet')[0]!).args.map((a) => a.replace('$(NODE_NAME)', 'worker-1'));
      const cfg = validateConfig(configInput(parse(args).values));
      assert.ok(cfg.ok, !cfg.ok ? cfg.error : '');
      assert.equal(cfg.value.hostnameOverride, 'worker-1');
    });
  }

  test('values.yaml and the non-default values satisfy values.schema.json; wrong values do not', async () => {
    const schema = JSON.parse(await readFile(`${CHART}/values.schema.json`, 'utf8')) as object;
    const check = new Ajv({ strict: false }).compile(schema);
    assert.ok(check(parseYaml(await readFile(`${CHART}/values.yaml`, 'utf8'))), JSON.stringify(check.errors));
    assert.ok(check({ ...(parseYaml(await readFile(`${CHART}/values.yaml`, 'utf8')) as object), ...NON_DEFAULT }), JSON.stringify(check.errors));
    for (const bad of [{ tcDriver: 5 }, { healthPort: 70000 }, { encapsulations: ['qinq'] }, { networkPlugins: [] }, { imageTag: 'typo' }]) {
      assert.equal(check({ ...(parseYaml(await readFile(`${CHART}/values.yaml`, 'utf8')) as object), ...bad }), false, JSON.stringify(bad));
    }
  });

  test('serviceAccount.create=false without a name stops rendering with the required message', async () => {
    const err = await helmTemplateFails([await values('no-sa.json', { serviceAccount: { create: false } })]);
    assert.match(err, /serviceAccount\.name is required when serviceAccount\.create is false/);
  });

  test("the chart's crds/ are the files in deploy/crds", async () => {
    for (const f of await readdir(`${CHART}/crds`)) assert.equal(await readFile(`${CHART}/crds/${f}`, 'utf8'), await readFile(`deploy/crds/${f}`, 'utf8'), f);
    assert.deepEqual((await readdir(`${CHART}/crds`)).sort(), (await readdir('deploy/crds')).filter((f) => f !== 'kustomization.yaml').sort());
  });
});

describe('the CRDs', () => {
  const examples = async (): Promise<Manifest[]> => {
    const out: Manifest[] = [];
    for (const dir of ['examples/cluster', 'examples/host-device-adapter/cluster']) {
      for (const f of await readdir(dir)) if (f.endsWith('.yaml')) out.push(...parseDocs(await readFile(join(dir, f), 'utf8')));
    }
    return out.filter((d) => d.apiVersion?.startsWith('k8s.cni.cncf.io/'));
  };

  test('every MultiNetworkPolicy and NetworkAttachmentDefinition in examples/ is valid (endPort included)', async () => {
    const crs = await examples();
    assert.ok(crs.some((d) => JSON.stringify(d).includes('"endPort"')), 'the examples use endPort');
    assert.deepEqual(new Set(crs.map((d) => d.kind)), new Set(['MultiNetworkPolicy', 'NetworkAttachmentDefinition']));
    await assertAllValid(crs);
  });

  test('a policy with an unknown protocol, a policy type typo, a port object or an ipBlock without cidr is rejected', async () => {
    const mnp = (spec: unknown): Manifest => ({ apiVersion: 'k8s.cni.cncf.io/v1beta1', kind: 'MultiNetworkPolicy', metadata: { name: 'p', namespace: 'n' }, spec });
    const bad = [
      { podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP', port: 1 }] }] },
      { podSelector: {}, policyTypes: ['Ingres'] },
      { podSelector: {}, egress: [{ ports: [{ port: { number: 80 } }] }] },
      { podSelector: {}, egress: [{ to: [{ ipBlock: { except: ['10.0.0.0/8'] } }] }] },
      { podSelector: {}, egress: [{ ports: [{ port: 80, endport: 90 }] }] },
      { ingress: [] },
    ];
    for (const spec of bad) assert.notDeepEqual(await validator.validate(mnp(spec)), [], JSON.stringify(spec));
    assert.deepEqual(await validator.validate(mnp({ podSelector: {}, egress: [{ ports: [{ protocol: 'TCP', port: 80, endPort: 90 }, { port: 'http' }] }] })), []);
  });

  test('MultiNetworkPolicy is k8s.cni.cncf.io/v1beta1, namespaced, with the upstream names', async () => {
    const [mnp] = (await crdDocs()).filter((d) => d.metadata?.name === 'multi-networkpolicies.k8s.cni.cncf.io');
    const spec = mnp!['spec'] as { group: string; scope: string; names: Record<string, unknown>; versions: { name: string; served: boolean; storage: boolean }[] };
    assert.equal(spec.group, 'k8s.cni.cncf.io');
    assert.equal(spec.scope, 'Namespaced');
    assert.deepEqual(spec.names, { kind: 'MultiNetworkPolicy', listKind: 'MultiNetworkPolicyList', plural: 'multi-networkpolicies', singular: 'multi-networkpolicy', shortNames: ['multi-policy'] });
    assert.deepEqual(spec.versions.map((v) => [v.name, v.served, v.storage]), [['v1beta1', true, true]]);
  });
});

// ---- shared checks -------------------------------------------------------------------------

interface Container {
  image: string;
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { containerPort: number }[];
  securityContext: Record<string, unknown> & { capabilities: { add: string[]; drop: string[] } };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe: { httpGet: { path: string; port: number } };
  readinessProbe: { httpGet: { path: string; port: number } };
  resources: { requests: Record<string, string> };
}

function container(ds: Manifest): Container {
  const spec = (ds['spec'] as { template: { spec: { containers: Container[] } } }).template.spec;
  assert.equal(spec.containers.length, 1);
  return spec.containers[0]!;
}

function assertDaemonSet(ds: Manifest, want: { port: number; serviceAccount: string; rulesPath: string }): void {
  const pod = (ds['spec'] as { template: { spec: Record<string, unknown> } }).template.spec as { hostNetwork: boolean; serviceAccountName: string; volumes: { name: string; hostPath?: { path: string } }[]; securityContext?: { privileged?: boolean } };
  const c = container(ds);
  assert.equal(pod.hostNetwork, true, 'hostNetwork: the representors are in the host netns');
  assert.equal(pod.serviceAccountName, want.serviceAccount);
  // NET_ADMIN only, not privileged, read-only root filesystem
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['NET_ADMIN'] });
  assert.equal(c.securityContext['privileged'], false);
  assert.equal(c.securityContext['allowPrivilegeEscalation'], false);
  assert.equal(c.securityContext['readOnlyRootFilesystem'], true);
  // /sys from the host, read-only
  const sys = c.volumeMounts.find((m) => m.mountPath === '/sys');
  assert.equal(sys?.readOnly, true);
  assert.equal(pod.volumes.find((v) => v.name === sys!.name)?.hostPath?.path, '/sys');
  assert.ok(c.volumeMounts.filter((m) => m.readOnly !== true).every((m) => m.mountPath === want.rulesPath || m.mountPath === '/tmp'), 'only the rules dump and /tmp are writable');
  // node name from the downward API into --hostname-override
  assert.deepEqual(c.env.find((e) => e.name === 'NODE_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  assert.ok(c.args.includes('--hostname-override=$(NODE_NAME)'));
  assert.ok(c.args.some((a) => a.startsWith('--network-plugins=')));
  assert.ok(c.args.some((a) => a.startsWith('--tc-driver=')));
  assert.ok(c.args.includes(`--health-address=0.0.0.0:${want.port}`));
  assert.ok(c.args.includes(`--pod-rules-path=${want.rulesPath}`));
  // probes on the health server, resource requests
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: want.port });
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: want.port });
  assert.deepEqual(c.ports.map((p) => p.containerPort), [want.port]);
  assert.ok(c.resources.requests['cpu'] && c.resources.requests['memory']);
}

function assertBinding(docs: readonly Manifest[]): void {
  const [role] = byKind(docs, 'ClusterRole');
  const [binding] = byKind(docs, 'ClusterRoleBinding');
  const [sa] = byKind(docs, 'ServiceAccount');
  assert.deepEqual(binding!['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role!.metadata!.name });
  assert.deepEqual(binding!['subjects'], [{ kind: 'ServiceAccount', name: sa!.metadata!.name, namespace: sa!.metadata!.namespace }]);
  assert.equal(sa!.metadata!.namespace, 'kube-system');
}

describe('helm-render (the chart renderer used here, for want of a packaged helm)', () => {
  test('behaves like Helm on what the chart uses: include, required, toYaml ordering, numbers, missing values, partials, NOTES, no env', async () => {
    const { mkdir } = await import('node:fs/promises');
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const chart = await mkdtemp(join(tmpdir(), 'mnp-chart-'));
    await mkdir(join(chart, 'templates'));
    await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: probe\nversion: 1.2.3\nappVersion: "4.5"\n');
    await writeFile(join(chart, 'values.yaml'), 'port: 9191\nm: {b: 1, a: [x]}\nkeep: yes\ndrop: 1\n');
    await writeFile(join(chart, 'templates', '_helpers.tpl'), '{{- define "probe.name" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end -}}\n');
    await writeFile(join(chart, 'templates', 'NOTES.txt'), 'not a manifest\n');
    await writeFile(join(chart, 'templates', 'cm.yaml'), 'name: {{ include "probe.name" . }}\nport: {{ .Values.port }}\nmissing: "{{ .Values.nope }}"\ndrop: "{{ .Values.drop }}"\napp: {{ .Chart.AppVersion }}\nns: {{ .Release.Namespace }}\nm:{{ toYaml .Values.m | nindent 2 }}\n');
    const bin = await helmRenderBinary();
    const run = promisify(execFile);
    const over = await values('probe-over.json', { drop: null, port: 8080 });
    const { stdout } = await run(bin, [chart, 'rel', 'ns1', over]);
    assert.equal(stdout, '---\n# Source: probe/templates/cm.yaml\nname: probe-rel\nport: 8080\nmissing: ""\ndrop: ""\napp: 4.5\nns: ns1\nm:\n  a:\n  - x\n  b: 1\n\n');
    await writeFile(join(chart, 'templates', 'req.yaml'), '{{ required "need x" .Values.x }}\n');
    await assert.rejects(run(bin, [chart, 'rel', 'ns1']), /need x/);
    await writeFile(join(chart, 'templates', 'req.yaml'), '{{ env "HOME" }}\n');
    await assert.rejects(run(bin, [chart, 'rel', 'ns1']), /function "env" not defined/);
  });
});
