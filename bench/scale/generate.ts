// A seeded generator of clusters for the scale benchmarks, as the API server would serve them
// (full objects: managedFields, container specs, status), so the agent's trimming is part of
// what is measured. Same seed, same cluster, byte for byte.
//
//   namespaces   `ns-N`, labels team (50 teams), env (prod|staging|dev)
//   networks     accelerated-bridge NADs in `default`; net-3 trunks VLANs (802.1Q policed there)
//   pods         ~N/namespaces per namespace, 4-12 apps each, tiers, versions, named container
//                ports; one secondary interface on the namespace's network, 15 % a second one;
//                2 % not Running (on remote nodes only), IPv6 too on even networks
//   node         `node-0` carries exactly `localAttachments` attachments, spread over namespaces;
//                the other pods sit on node-1..node-K (K = pods / localAttachments)
//   policies     `policies / namespaces` per namespace, a weighted mix of the shapes below
//                (selectors with matchLabels and matchExpressions, namespaceSelectors,
//                ipBlocks with except, numeric, named and ranged ports, TCP/UDP/SCTP)
import type { K8sObject, Resource } from '../../test/fake-apiserver/server.js';

export interface ScaleParams {
  readonly pods: number;
  readonly policies: number;
  readonly namespaces: number;
  readonly networks: number;
  readonly localAttachments: number;
  readonly seed: number;
}

export const FULL_SCALE: ScaleParams = { pods: 50_000, policies: 5_000, namespaces: 500, networks: 10, localAttachments: 200, seed: 20261201 };
export const QUICK_SCALE: ScaleParams = { pods: 5_000, policies: 500, namespaces: 50, networks: 10, localAttachments: 40, seed: 20261201 };

export const LOCAL_NODE = 'node-0';

/** mulberry32: small, fast, good enough to pick shapes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedPod {
  readonly object: K8sObject;
  readonly namespace: string;
  readonly name: string;
  readonly local: boolean;
  readonly attachments: number;
}

export interface GeneratedCluster {
  readonly params: ScaleParams;
  readonly namespaces: K8sObject[];
  readonly nads: K8sObject[];
  readonly pods: GeneratedPod[];
  readonly policies: K8sObject[];
  /** Representor names of node-0's attachments (for a lab that creates them). */
  readonly localRepresentors: string[];
}

const TIERS = ['frontend', 'backend', 'db', 'cache', 'worker'] as const;
const ENVS = ['prod', 'staging', 'dev'] as const;
const TEAMS = 50;

interface NsInfo {
  readonly name: string;
  readonly team: string;
  readonly env: string;
  readonly apps: number;
  readonly networks: readonly number[];
  /** 2 % of namespaces host shared services (monitoring, logging) that others let in. */
  readonly purpose: string | undefined;
}

const nadName = (k: number): string => `net-${k}`;
const netKey = (k: number): string => `default/${nadName(k)}`;

const hex2 = (n: number): string => (n & 255).toString(16).padStart(2, '0');
const mac = (i: number, j: number): string => `02:00:${hex2(i >> 16)}:${hex2(i >> 8)}:${hex2(i)}:${hex2(j)}`;

function ipv4(net: number, idx: number): string {
  return `10.${100 + net}.${(idx >> 8) & 255}.${idx & 255}`;
}

function ipv6(net: number, idx: number): string {
  return `fd00:${net}::${(idx + 1).toString(16)}`;
}

export function generate(params: ScaleParams): GeneratedCluster {
  const r = rng(params.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

  // ---- namespaces and networks ---------------------------------------------------------
  const nss: NsInfo[] = [];
  for (let n = 0; n < params.namespaces; n++) {
    const first = n % params.networks;
    const networks = r() < 0.3 ? [first, (first + 3) % params.networks] : [first];
    const purpose = n % 100 === 7 ? 'monitoring' : n % 100 === 57 ? 'logging' : undefined;
    nss.push({ name: `ns-${n}`, team: `team-${n % TEAMS}`, env: pick(ENVS), apps: int(4, 12), networks, purpose });
  }
  const namespaces = nss.map((ns): K8sObject => ({
    metadata: {
      name: ns.name,
      labels: { team: ns.team, env: ns.env, ...(ns.purpose ? { purpose: ns.purpose } : {}), 'kubernetes.io/metadata.name': ns.name },
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }],
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  }));
  const nads: K8sObject[] = [];
  for (let k = 0; k < params.networks; k++) {
    const config: Record<string, unknown> = { cniVersion: '1.0.0', name: nadName(k), type: 'accelerated-bridge', ipam: { type: 'whereabouts', range: `10.${100 + k}.0.0/16` } };
    if (k === 3) config['trunk'] = [{ minID: 100, maxID: 199 }];
    nads.push({ metadata: { name: nadName(k), namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'mellanox.com/sriov' } }, spec: { config: JSON.stringify(config) } });
  }

  // ---- pods ------------------------------------------------------------------------------
  const nodes = Math.max(2, Math.round(params.pods / params.localAttachments));
  const nextIp = new Array<number>(params.networks).fill(0);
  const pods: GeneratedPod[] = [];
  let localLeft = params.localAttachments;
  // node-0's pods are spread over namespaces: every `stride`-th pod until its attachments are full
  const stride = Math.max(1, Math.floor(params.pods / (params.localAttachments * 1.1)));
  let localRep = 0;
  let remoteRep = 0;
  const localRepresentors: string[] = [];
  for (let i = 0; i < params.pods; i++) {
    const ns = nss[i % params.namespaces]!;
    const app = Math.floor(r() * ns.apps);
    const tier = TIERS[app % TIERS.length]!;
    const nets = r() < 0.15 && ns.networks.length > 1 ? ns.networks : [ns.networks[(i >> 3) % ns.networks.length]!];
    const wantLocal = localLeft >= nets.length && i % stride === 0;
    const local = wantLocal;
    if (local) localLeft -= nets.length;
    const running = local || r() >= 0.02;
    const node = local ? LOCAL_NODE : `node-${1 + (i % (nodes - 1))}`;
    const name = `app-${app}-${(i * 2654435761 >>> 0).toString(36).slice(0, 5)}-${i}`;
    const status: Record<string, unknown>[] = [{ name: 'cbr0', interface: 'eth0', ips: [`10.244.${(i >> 8) & 255}.${i & 255}`], default: true, dns: {} }];
    nets.forEach((k, j) => {
      const idx = nextIp[k]!++;
      const ips = k % 2 === 0 ? [ipv4(k, idx), ipv6(k, idx)] : [ipv4(k, idx)];
      const rep = local ? `rep${localRep++}` : `pf${remoteRep % 4}vf${remoteRep++ % 250}`;
      if (local) localRepresentors.push(rep);
      status.push({ name: netKey(k), interface: `net${j + 1}`, ips, mac: mac(i, j), dns: {}, 'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': `0000:3b:${(j + 2).toString(16).padStart(2, '0')}.${i % 8}`, 'representor-device': rep } } });
    });
    const object: K8sObject = {
      metadata: {
        name,
        namespace: ns.name,
        labels: { app: `app-${app}`, tier, version: r() < 0.7 ? 'v1' : 'v2', 'pod-template-hash': Math.floor(r() * 0xffffffff).toString(16), 'app.kubernetes.io/part-of': `${ns.name}-suite` },
        annotations: {
          'k8s.v1.cni.cncf.io/networks': nets.map(nadName).join(','),
          ...(running ? { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) } : {}),
          'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z',
        },
        creationTimestamp: '2026-01-01T00:00:00Z',
        generateName: `app-${app}-`,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app-${app}-rs`, uid: `rs-${i}`, controller: true, blockOwnerDeletion: true }],
        managedFields: [
          { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:generateName': {}, 'f:labels': {}, 'f:ownerReferences': {} }, 'f:spec': { 'f:containers': {} } } },
          { manager: 'multus', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:k8s.v1.cni.cncf.io/network-status': {} } } }, subresource: 'status' },
          { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:podIP': {}, 'f:podIPs': {} } }, subresource: 'status' },
        ],
      },
      spec: {
        nodeName: node,
        serviceAccountName: 'default',
        containers: [
          {
            name: 'main',
            image: `registry.example/${ns.name}/app-${app}:1.${i % 10}`,
            ports: [
              { name: 'http', containerPort: 8080, protocol: 'TCP' },
              { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
              ...(tier === 'backend' ? [{ name: 'grpc', containerPort: 50051, protocol: 'TCP' }] : []),
              ...(tier === 'db' ? [{ name: 'sql', containerPort: 5432, protocol: 'TCP' }] : []),
            ],
            resources: { requests: { cpu: '100m', memory: '128Mi', 'mellanox.com/sriov': String(nets.length) }, limits: { 'mellanox.com/sriov': String(nets.length) } },
            env: [{ name: 'APP', value: `app-${app}` }, { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
            volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
          },
          { name: 'sidecar', image: 'registry.example/proxy:2.1', resources: { requests: { cpu: '10m' } } },
        ],
        volumes: [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }, { configMap: { name: 'kube-root-ca.crt' } }] } }],
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      },
      status: running
        ? { phase: 'Running', podIP: `10.244.${(i >> 8) & 255}.${i & 255}`, hostIP: '192.0.2.1', conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }], startTime: '2026-01-01T00:00:05Z' }
        : { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
    };
    pods.push({ object, namespace: ns.name, name, local, attachments: local ? nets.length : 0 });
  }

  // ---- policies ----------------------------------------------------------------------------
  const policies: K8sObject[] = [];
  const perNs = Math.max(1, Math.round(params.policies / params.namespaces));
  const EXTERNAL = ['172.16.0.0/12', '192.168.0.0/16', '203.0.113.0/24', '198.51.100.0/24', '100.64.0.0/10', '2001:db8::/32'];
  const ports = (): Record<string, unknown>[] => {
    const n = int(1, 3);
    return Array.from({ length: n }, () => (r() < 0.2 ? { port: 'http' } : { protocol: pick(['TCP', 'TCP', 'TCP', 'UDP'] as const), port: pick([80, 443, 8080, 8443, 9090, 5432, 6379, 53]) }));
  };
  for (let j = 0; j < params.policies; j++) {
    const ns = nss[Math.floor(j / perNs) % params.namespaces]!;
    const appSel = () => ({ matchLabels: { app: `app-${int(0, ns.apps - 1)}` } });
    const otherNs = nss[int(0, params.namespaces - 1)]!;
    const w = r();
    let spec: Record<string, unknown>;
    if (w < 0.08) {
      spec = { podSelector: {}, policyTypes: ['Ingress'] }; // default deny ingress
    } else if (w < 0.38) {
      spec = { podSelector: appSel(), ingress: [{ from: [{ podSelector: appSel() }, { podSelector: { matchLabels: { tier: pick(TIERS) } } }], ports: ports() }] };
    } else if (w < 0.5) {
      spec = { podSelector: { matchLabels: { tier: pick(TIERS) } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: ns.team } }, podSelector: { matchLabels: { tier: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] };
    } else if (w < 0.55) {
      // scraped by the shared monitoring/logging namespaces' workers
      spec = { podSelector: appSel(), ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'purpose', operator: 'In', values: ['monitoring', 'logging'] }] }, podSelector: { matchLabels: { tier: 'worker' } } }], ports: [{ port: 'metrics' }] }] };
    } else if (w < 0.7) {
      const blocks = Array.from({ length: int(1, 3) }, () => {
        const cidr = pick(EXTERNAL);
        const len = Number(cidr.split('/')[1]);
        if (cidr.includes(':') || len > 16 || r() < 0.5) return { ipBlock: { cidr } };
        const [a, b] = cidr.split('.') as [string, string];
        return { ipBlock: { cidr, except: [`${a}.${b}.${int(0, 15)}.0/24`] } };
      });
      spec = { podSelector: appSel(), policyTypes: ['Egress'], egress: [{ to: blocks, ports: [{ protocol: 'TCP', port: 443 }] }, { to: [{ ipBlock: { cidr: '10.96.0.10/32' } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }] };
    } else if (w < 0.8) {
      spec = {
        podSelector: appSel(),
        policyTypes: ['Egress'],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': otherNs.name } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'db'] }] } }], ports: [{ port: 'grpc' }, { protocol: 'TCP', port: 5432 }] }],
      };
    } else if (w < 0.85) {
      spec = { podSelector: { matchLabels: { tier: 'frontend' } }, ingress: [{ from: [{ ipBlock: { cidr: pick(EXTERNAL) } }], ports: [{ protocol: 'TCP', port: 30000, endPort: 32767 }] }] };
    } else if (w < 0.95) {
      spec = {
        podSelector: appSel(),
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }, { protocol: 'TCP', port: 8443 }] }],
        egress: [{ to: [{ podSelector: { matchLabels: { tier: 'db' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }, { to: [{ ipBlock: { cidr: '10.96.0.10/32' } }], ports: [{ protocol: 'UDP', port: 53 }] }],
      };
    } else {
      spec = {
        podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend', 'backend'] }, { key: 'version', operator: 'NotIn', values: ['v0'] }] },
        ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } }], ports: [{ protocol: 'SCTP', port: 3868 }, { protocol: 'UDP', port: 4789 }] }],
      };
    }
    const policyFor = r() < 0.2 ? ns.networks.map(netKey).join(',') : netKey(ns.networks[0]!);
    policies.push({ metadata: { name: `pol-${j}`, namespace: ns.name, annotations: { 'k8s.v1.cni.cncf.io/policy-for': policyFor }, creationTimestamp: '2026-01-01T00:00:00Z', generation: 1 }, spec });
  }
  return { params, namespaces, nads, pods, policies, localRepresentors };
}

const apiKey = (o: K8sObject): string => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

/** Objects in the order a list from the API server returns them (etcd's: by namespace/name). */
export function apiOrder(objects: readonly K8sObject[]): K8sObject[] {
  return objects.map((o) => [apiKey(o), o] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
}

/** The cluster as (resource, object) pairs, each kind in API list order. */
export function apiObjects(c: GeneratedCluster): [Resource, K8sObject][] {
  const tag = (r: Resource, os: readonly K8sObject[]): [Resource, K8sObject][] => apiOrder(os).map((o) => [r, o]);
  return [...tag('namespaces', c.namespaces), ...tag('nads', c.nads), ...tag('pods', c.pods.map((p) => p.object)), ...tag('policies', c.policies)];
}
