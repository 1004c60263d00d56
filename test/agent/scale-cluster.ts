// A generated cluster for scale measurements, with realistic object sizes:
//   100 namespaces in 10 teams, 10 accelerated-bridge networks, 50 apps;
//   pod i: namespace i % 100, network i % 10, app (i / 7) % 50, node (i / 100) % 100
//          (worker-1 holds pods 100-199, 10100-10199, …: every namespace and network);
//   policy j: namespace j % 100, network (j / 100) % 10, selects its namespace's tier (so
//          every pod is selected by exactly one policy per network), allows app j % 50 of its
//          namespace and app j+1 of its team's namespaces, and app j+2 of the team on one TCP port.
import type { K8sObject, Resource } from '../fake-apiserver/server.js';

const NAMESPACES = 100;
const NODES = 100;
const NETS = 10;

export const appOf = (i: number): number => Math.floor(i / 7) % 50;

export function podObject(i: number, app: number): K8sObject {
  const ns = `ns-${i % NAMESPACES}`;
  const net = `default/net-${i % NETS}`;
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const status = [
    { name: 'cbr0', interface: 'eth0', ips: [`10.244.${(i >> 8) & 255}.${i & 255}`], default: true, dns: {} },
    { name: net, interface: 'net1', ips: [ip], mac: '02:00:00:00:00:01', dns: {}, 'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:3b:00.2', 'representor-device': `vf${i}` } } },
  ];
  return {
    metadata: {
      name: `pod-${i}`,
      namespace: ns,
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      labels: { app: `a${app}`, tier: i % 2 ? 'web' : 'db', 'pod-template-hash': 'abc123' },
      annotations: { 'k8s.v1.cni.cncf.io/networks': net, 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) },
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubelet', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:podIP': {} } } }],
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'x', controller: true }],
    },
    spec: {
      nodeName: `worker-${Math.floor(i / 100) % NODES}`,
      containers: [{ name: 'main', image: 'registry.example/app:1.0', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '100m' } }, env: [{ name: 'A', value: 'b' }] }],
      volumes: [{ name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
    },
    status: { phase: 'Running', podIP: `10.244.${(i >> 8) & 255}.${i & 255}`, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** The objects of the generated cluster, in creation order. */
export function generateCluster(PODS: number, POLICIES: number): [Resource, K8sObject][] {
  const out: [Resource, K8sObject][] = [];
  const s = { apply: (r: Resource, o: K8sObject) => void out.push([r, o]) };
  for (let n = 0; n < NAMESPACES; n++) s.apply('namespaces', { metadata: { name: `ns-${n}`, labels: { team: `t${n % 10}`, 'kubernetes.io/metadata.name': `ns-${n}` } } });
  for (let n = 0; n < NETS; n++) s.apply('nads', { metadata: { name: `net-${n}`, namespace: 'default' }, spec: { config: JSON.stringify({ cniVersion: '1.0.0', name: `net-${n}`, type: 'accelerated-bridge' }) } });
  for (let i = 0; i < PODS; i++) s.apply('pods', podObject(i, appOf(i)));
  for (let j = 0; j < POLICIES; j++) {
    const ns = `ns-${j % NAMESPACES}`;
    s.apply('policies', {
      metadata: { name: `pol-${j}`, namespace: ns, annotations: { 'k8s.v1.cni.cncf.io/policy-for': `default/net-${Math.floor(j / 100) % NETS}` } },
      spec: {
        podSelector: { matchLabels: { tier: j % 2 ? 'web' : 'db' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: { app: `a${j % 50}` } } }, { namespaceSelector: { matchLabels: { team: `t${j % 10}` } }, podSelector: { matchLabels: { app: `a${(j + 1) % 50}` } } }] },
          { from: [{ namespaceSelector: { matchLabels: { team: `t${j % 10}` } }, podSelector: { matchLabels: { app: `a${(j + 2) % 50}` } } }], ports: [{ protocol: 'TCP', port: 8000 + (j % 100) }] },
        ],
        egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.1.0/24'] } }] }],
      },
    });
  }
  return out;
}
