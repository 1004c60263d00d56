// Run by hidden-class.test.ts as `node --allow-natives-syntax --import tsx <this file>`:
// trims objects of one shape and prints how many distinct V8 hidden classes ("maps") the
// copies have, per part. The check behind docs/performance.md's "no object spread" rule.
import { Interner } from '../../core/watch/intern.js';
import type { Kind } from '../../core/watch/kinds.js';
import { trimObject } from '../../core/watch/trim.js';

// V8 intrinsic, parsed at run time (allowed by --allow-natives-syntax).
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean;

function distinctMaps(xs: readonly unknown[]): number {
  const reps: unknown[] = [];
  for (const x of xs) if (!reps.some((r) => sameMap(r, x))) reps.push(x);
  return reps.length;
}

const N = 200;
const pod = (i: number, typeMeta: boolean): unknown => ({
  ...(typeMeta ? { apiVersion: 'v1', kind: 'Pod' } : {}),
  metadata: {
    name: `pod-${i}`,
    namespace: `ns-${i % 7}`,
    uid: `uid-${i}`,
    resourceVersion: String(1000 + i),
    labels: { app: `app-${i % 5}`, 'pod-template-hash': i.toString(16) },
    annotations: { 'k8s.v1.cni.cncf.io/network-status': `[{"name":"net-${i % 3}","ips":["10.0.${i % 250}.1"]}]`, 'k8s.v1.cni.cncf.io/networks': `net-${i % 3}`, other: 'x' },
    managedFields: [{ manager: 'kubelet' }],
  },
  spec: { nodeName: `node-${i % 11}`, containers: [{ name: 'main', image: 'i', ports: [{ name: 'http', containerPort: 8000 + (i % 4), protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: `10.244.0.${i % 250}` },
});
const policy = (i: number): unknown => ({
  apiVersion: 'k8s.cni.cncf.io/v1beta1',
  kind: 'MultiNetworkPolicy',
  metadata: { name: `pol-${i}`, namespace: `ns-${i % 7}`, uid: `u-${i}`, resourceVersion: String(i), annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'net-1' } },
  spec: { podSelector: { matchLabels: { app: `app-${i}` } } },
});
const namespace = (i: number): unknown => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${i}`, uid: `u-${i}`, resourceVersion: String(i), labels: { team: `t-${i % 3}` } } });

const trimAll = (kind: Kind, make: (i: number) => unknown, interner?: Interner): Record<string, unknown>[] =>
  Array.from({ length: N }, (_, i) => trimObject(kind, make(i), interner) as Record<string, unknown>);
const parts = (xs: Record<string, unknown>[]): Record<string, number> => ({
  object: distinctMaps(xs),
  metadata: distinctMaps(xs.map((x) => x.metadata)),
  ...(xs[0]!.spec !== undefined ? { spec: distinctMaps(xs.map((x) => x.spec)) } : {}),
});

const interner = new Interner();
const result = {
  podsFromWatch: parts(trimAll('Pod', (i) => pod(i, true))),
  podsFromList: parts(trimAll('Pod', (i) => pod(i, false))),
  podsShared: parts(trimAll('Pod', (i) => pod(i, true), interner)),
  policies: parts(trimAll('MultiNetworkPolicy', policy, interner)),
  namespaces: parts(trimAll('Namespace', namespace, interner)),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
