// Through the real informers (fake API server): what the store holds equals the plain
// trimmed objects, and replicas share their container list and status (core/watch/intern.ts),
// from the initial list and from watch events alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../core/model/k8s.js';
import { ApiSource } from '../../core/watch/api-source.js';
import { loadKubeConfig } from '../../core/watch/kubeconfig.js';
import { ClusterStore } from '../../core/watch/store.js';
import { trimObject } from '../../core/watch/trim.js';
import { FAST_INFORMERS, silent, until } from '../agent/harness.js';
import { FakeApiServer, type K8sObject } from '../fake-apiserver/server.js';

const pod = (name: string, port: number): K8sObject => ({
  metadata: {
    name,
    namespace: 'shop-production',
    labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop-frontend' },
    annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify([{ name: 'shop-production/net1', ips: ['10.0.0.1'] }], null, 4) },
    managedFields: [{ manager: 'kubelet' }],
  },
  spec: { nodeName: 'worker-1.example.com', containers: [{ name: 'main', image: 'img', ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: '10.244.0.1' },
});

test('pods from the list and from watch events share equal parts and equal the plain trimmed objects', async () => {
  const server = await FakeApiServer.start();
  const store = new ClusterStore();
  let source: ApiSource | undefined;
  try {
    server.apply('namespaces', { metadata: { name: 'shop-production' } });
    server.apply('pods', pod('listed-a', 80));
    server.apply('pods', pod('listed-b', 80));
    const kc = loadKubeConfig({ master: server.url });
    assert.ok(kc.ok);
    source = new ApiSource(kc.value, store, silent, FAST_INFORMERS);
    await source.start();
    await source.whenSynced();
    server.apply('pods', pod('watched-c', 80));
    server.apply('pods', pod('watched-d', 8080));
    await until('four pods in the store', () => store.size('Pod') === 4);

    const get = (name: string): Pod => store.get('Pod', `shop-production/${name}`) as Pod;
    const [a, b, c, d] = ['listed-a', 'listed-b', 'watched-c', 'watched-d'].map(get);
    assert.equal(a!.spec.containers, b!.spec.containers, 'listed replicas share one container list');
    assert.equal(c!.spec.containers, a!.spec.containers, 'a watched replica shares it too');
    assert.notEqual(d!.spec.containers, a!.spec.containers);
    assert.equal(a!.status, d!.status, 'one { phase: Running } for all');
    for (const p of [a, b, c, d]) {
      // the same content as without sharing, except the annotation's whitespace
      const served = server.get('pods', `shop-production/${p!.metadata.name}`)!;
      const plain = JSON.parse(JSON.stringify(trimObject('Pod', served))) as Pod;
      const status = 'k8s.v1.cni.cncf.io/network-status';
      assert.deepEqual(JSON.parse(p!.metadata.annotations![status]!), JSON.parse(plain.metadata.annotations![status]!));
      assert.deepEqual({ ...p, metadata: { ...p!.metadata, annotations: {} } }, { ...plain, metadata: { ...plain.metadata, annotations: {} } });
      assert.ok(!p!.metadata.annotations![status]!.includes('\n'), 'stored without the indentation');
    }
  } finally {
    await source?.stop();
    await server.stop();
  }
});
