// Client configuration from --kubeconfig, --master alone, or the service account, and the
// preflight that turns an unusable API into one sentence at startup.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { describeError } from '../../core/api/errors.js';
import { loadKubeConfig, preflight } from '../../core/watch/kubeconfig.js';
import { kubeconfigYaml } from '../fake-apiserver/kubeconfig.js';
import { FakeApiServer } from '../fake-apiserver/server.js';

let server: FakeApiServer;
let dir: string;
before(async () => {
  server = await FakeApiServer.start();
  dir = await mkdtemp(join(tmpdir(), 'mnp-kc-'));
});
after(() => server.stop());

test('a kubeconfig file is used with its token; an http server needs no TLS flag', async () => {
  const path = join(dir, 'ok.yaml');
  await writeFile(path, kubeconfigYaml(server.url));
  const kc = loadKubeConfig({ kubeconfig: path });
  assert.ok(kc.ok);
  assert.ok((await preflight(kc.value, 2000)).ok);
  assert.equal(server.requests.at(-1)?.authorization, 'Bearer T0KEN');
});

test('--master replaces the server of the kubeconfig', async () => {
  const path = join(dir, 'other.yaml');
  await writeFile(path, kubeconfigYaml('https://elsewhere.invalid:6443'));
  const kc = loadKubeConfig({ kubeconfig: path, master: server.url });
  assert.ok(kc.ok);
  assert.equal(kc.value.getCurrentCluster()?.server, server.url);
});

test('--master alone is enough (unlike upstream, where it was ignored)', async () => {
  const kc = loadKubeConfig({ master: server.url });
  assert.ok(kc.ok);
  assert.ok((await preflight(kc.value, 2000)).ok);
});

test('a missing or broken kubeconfig is one sentence naming the file', async () => {
  const missing = loadKubeConfig({ kubeconfig: join(dir, 'nope.yaml') });
  assert.ok(!missing.ok);
  assert.equal(describeError(missing.error), `cannot configure the Kubernetes client from --kubeconfig ${join(dir, 'nope.yaml')}: no such file`);
  const path = join(dir, 'broken.yaml');
  await writeFile(path, 'clusters: [{name: x, cluster: {}}]\ncurrent-context: nope\n');
  const broken = loadKubeConfig({ kubeconfig: path });
  assert.ok(!broken.ok);
  assert.ok(!describeError(broken.error).includes('\n'));
  assert.match(describeError(broken.error), /broken\.yaml/);
});

test('in a pod the service account token is used; outside a pod the sentence says what to give', async () => {
  const prefix = join(dir, 'sa');
  await mkdir(join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount'), { recursive: true });
  for (const [f, v] of [['token', 'sa-token-1'], ['namespace', 'kube-system'], ['ca.crt', '']]) {
    await writeFile(join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount', f!), v!);
  }
  const port = String(server.port);
  // client-node speaks http only on ports 80/8080/8001; here only the resulting config is checked.
  const kc = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }, serviceAccountPrefix: prefix });
  assert.ok(kc.ok);
  assert.equal(kc.value.getCurrentCluster()?.server, `https://127.0.0.1:${port}`);
  const outside = loadKubeConfig({ env: {} });
  assert.ok(!outside.ok);
  assert.match(describeError(outside.error), /not running in a pod \(KUBERNETES_SERVICE_HOST\/PORT unset\); give --kubeconfig or --master/);
});

test('preflight: refused connection, forbidden, and no answer are each one sentence', async () => {
  const kcRefused = loadKubeConfig({ master: 'http://127.0.0.1:1' });
  assert.ok(kcRefused.ok);
  const r1 = await preflight(kcRefused.value, 2000);
  assert.ok(!r1.ok);
  assert.equal(describeError(r1.error), 'cannot use the Kubernetes API at http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1');

  const kc = loadKubeConfig({ master: server.url });
  assert.ok(kc.ok);
  server.deny = () => 403;
  const r2 = await preflight(kc.value, 2000);
  server.deny = undefined;
  assert.ok(!r2.ok);
  assert.match(describeError(r2.error), /HTTP 403 forbidden: the account lacks RBAC permission/);

  const mute = createServer(() => undefined);
  await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
  const kcMute = loadKubeConfig({ master: `http://127.0.0.1:${(mute.address() as AddressInfo).port}` });
  assert.ok(kcMute.ok);
  const t0 = Date.now();
  const r3 = await preflight(kcMute.value, 200);
  assert.ok(!r3.ok);
  assert.ok(Date.now() - t0 < 1500);
  assert.match(describeError(r3.error), /list namespaces: no answer within 200 ms/);
  mute.closeAllConnections();
  mute.close();
});

test('the API client built from the config talks to the fake server', async () => {
  const kc = loadKubeConfig({ master: server.url });
  assert.ok(kc.ok);
  server.apply('namespaces', { metadata: { name: 'x' } });
  const list = await kc.value.makeApiClient(CoreV1Api).listNamespace();
  assert.deepEqual(list.items.map((n) => n.metadata?.name), ['x']);
});
