// trimObject builds its copies for memory (literals, no spread, shared parts; see
// core/watch/trim.ts). What it keeps must not change: checked against the plain picker it
// replaced, on arbitrary (also malformed) objects of every kind, with and without an Interner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION, POLICY_FOR_ANNOTATION, type Pod } from '../../core/model/k8s.js';
import { parseNetworkStatus } from '../../core/model/network-status.js';
import { Interner } from '../../core/watch/intern.js';
import type { Kind } from '../../core/watch/kinds.js';
import { trimObject } from '../../core/watch/trim.js';

// ---- the oracle: the straightforward trimmer (what trim.ts was before) -------------------
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
function pick(o: unknown, keys: readonly string[]): Obj {
  const out: Obj = {};
  if (!isObj(o)) return out;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
function meta(m: unknown, annotations: readonly string[], labels: boolean): Obj {
  const out = pick(m, labels ? ['name', 'namespace', 'uid', 'resourceVersion', 'labels'] : ['name', 'namespace', 'uid', 'resourceVersion']);
  if (isObj(m) && isObj(m.annotations)) {
    const kept = pick(m.annotations, annotations);
    if (Object.keys(kept).length > 0) out.annotations = kept;
  }
  return out;
}
function oracle(kind: Kind, raw: unknown): unknown {
  if (!isObj(raw)) return raw;
  const typeMeta = pick(raw, ['apiVersion', 'kind']);
  switch (kind) {
    case 'Pod': {
      const spec = isObj(raw.spec) ? raw.spec : {};
      const out: Obj = { ...typeMeta, metadata: meta(raw.metadata, [NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION], true) };
      const s = pick(spec, ['nodeName', 'hostNetwork']);
      if (Array.isArray(spec.containers)) {
        s.containers = spec.containers.map((c: unknown) => {
          const kept = pick(c, ['name']);
          if (isObj(c) && Array.isArray(c.ports)) kept.ports = c.ports.map((p: unknown) => pick(p, ['name', 'containerPort', 'protocol']));
          return kept;
        });
      }
      out.spec = s;
      if (isObj(raw.status)) out.status = pick(raw.status, ['phase']);
      return out;
    }
    case 'Namespace':
      return { ...typeMeta, metadata: meta(raw.metadata, [], true) };
    case 'NetworkAttachmentDefinition':
      return { ...typeMeta, metadata: meta(raw.metadata, [], false), ...(isObj(raw.spec) ? { spec: pick(raw.spec, ['config']) } : {}) };
    case 'MultiNetworkPolicy':
      return { ...typeMeta, metadata: meta(raw.metadata, [POLICY_FOR_ANNOTATION], true), ...(raw.spec !== undefined ? { spec: raw.spec } : {}) };
  }
}

// ---- arbitrary API objects, well-formed or not ---------------------------------------------
const odd = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }));
const word = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('ns1', 'a-namespace-with-a-long-name', 'worker-1', 'Running', 'Pending', 'TCP', 'UDP', 'http', 'main', 'v1', 'Pod') }, { weight: 2, arbitrary: fc.string() }, { weight: 1, arbitrary: odd });
const entry = fc.record({ name: word, interface: word, ips: fc.array(fc.constantFrom('10.0.0.1', 'fd00::1', 'x'), { maxLength: 2 }), mac: word, default: fc.boolean(), dns: fc.constant({}) }, { requiredKeys: [] });
const statusText = fc.oneof(
  fc.array(entry, { maxLength: 3 }).map((es) => JSON.stringify(es)),
  fc.array(entry, { maxLength: 3 }).map((es) => JSON.stringify(es, null, 4)), // as Multus writes it
  fc.constantFrom('[\n{"name": "n", "x": 1e999}\n]', '[\n  {"name": -0}\n]', '{not json\n', '[]'),
  odd,
);
const annotations = fc.oneof(fc.record({ [NETWORK_STATUS_ANNOTATION]: statusText, [NETWORKS_ANNOTATION]: word, [POLICY_FOR_ANNOTATION]: word, other: word }, { requiredKeys: [] }), odd);
const metadata = fc.oneof(
  { weight: 5, arbitrary: fc.record({ name: word, namespace: word, uid: word, resourceVersion: word, labels: fc.oneof(fc.dictionary(fc.constantFrom('app', 'tier', 'x'), word, { maxKeys: 3 }), odd), annotations, managedFields: fc.constant([{ manager: 'kubelet' }]) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: odd },
);
const port = fc.oneof({ weight: 5, arbitrary: fc.record({ name: word, containerPort: fc.oneof(fc.integer({ min: 1, max: 65535 }), word), protocol: word, hostPort: fc.integer() }, { requiredKeys: [] }) }, { weight: 1, arbitrary: odd });
const container = fc.oneof({ weight: 5, arbitrary: fc.record({ name: word, image: fc.string(), ports: fc.oneof(fc.array(port, { maxLength: 3 }), odd) }, { requiredKeys: [] }) }, { weight: 1, arbitrary: odd });
const spec = fc.oneof(
  { weight: 5, arbitrary: fc.record({ nodeName: word, hostNetwork: fc.oneof(fc.boolean(), odd), containers: fc.oneof(fc.array(container, { maxLength: 3 }), odd), volumes: fc.constant([{ name: 'v' }]), config: word, podSelector: fc.constant({}) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: odd },
);
const status = fc.oneof(fc.record({ phase: word, podIP: fc.string() }, { requiredKeys: [] }), odd);
const rawObject = fc.oneof(
  { weight: 8, arbitrary: fc.record({ apiVersion: word, kind: word, metadata, spec, status }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: odd },
);
const kind = fc.constantFrom<Kind>('Pod', 'Pod', 'Pod', 'Namespace', 'NetworkAttachmentDefinition', 'MultiNetworkPolicy');

function isDeepFrozen(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  return Object.isFrozen(v) && Object.values(v).every(isDeepFrozen);
}

/** The network-status text replaced by what it parses to (compaction may change the text only). */
function statusParsed(v: unknown): unknown {
  const copy = structuredClone(v) as { metadata?: { annotations?: Obj } };
  const a = isObj(copy) && isObj(copy.metadata) ? copy.metadata.annotations : undefined;
  const text = isObj(a) ? a[NETWORK_STATUS_ANNOTATION] : undefined;
  if (isObj(a) && typeof text === 'string') {
    try {
      a[NETWORK_STATUS_ANNOTATION] = { parsed: JSON.parse(text) };
    } catch {
      // kept as text: then both must hold the very same text
    }
  }
  return copy;
}

test('trimObject keeps exactly what the plain picker kept, in the same key order, deep-frozen', () => {
  fc.assert(
    fc.property(kind, rawObject, (k, raw) => {
      const expected = oracle(k, structuredClone(raw));
      const got = trimObject(k, structuredClone(raw));
      assert.deepStrictEqual(got, expected);
      assert.equal(JSON.stringify(got), JSON.stringify(expected));
      if (isObj(raw)) assert.ok(isDeepFrozen(got)); // anything else passes through for validation to reject
    }),
    { numRuns: 1500 },
  );
});

test('with an Interner the same objects come out; only an indented network-status loses its whitespace', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(kind, rawObject), { minLength: 1, maxLength: 8 }), (objects) => {
      const interner = new Interner(4); // tiny, so the tables also start over within a run
      for (const [k, raw] of objects) {
        const expected = oracle(k, structuredClone(raw));
        const got = trimObject(k, structuredClone(raw), interner);
        assert.deepStrictEqual(statusParsed(got), statusParsed(expected));
        if (isObj(raw)) assert.ok(isDeepFrozen(got));
        const text = (got as { metadata?: { annotations?: Obj } } | undefined)?.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION];
        const original = (expected as { metadata?: { annotations?: Obj } } | undefined)?.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION];
        if (typeof text === 'string' && typeof original === 'string') {
          // what the engine reads from it is unchanged (parse errors included)
          const pod = (t: string): Pod => ({ metadata: { name: 'p', namespace: 'ns1', annotations: { [NETWORK_STATUS_ANNOTATION]: t } }, spec: {} });
          assert.deepStrictEqual(parseNetworkStatus(pod(text)), parseNetworkStatus(pod(original)));
        }
      }
    }),
    { numRuns: 400 },
  );
});

const apiPod = (name: string, ports: number[]): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'a-namespace-with-a-long-name',
    uid: `uid-${name}`,
    resourceVersion: '1',
    labels: { app: 'web', 'app.kubernetes.io/part-of': 'a-long-label-value-shared-by-replicas' },
    annotations: { [NETWORK_STATUS_ANNOTATION]: JSON.stringify([{ name: 'default/net1', ips: ['10.0.0.1'] }], null, 4), other: 'x' },
  },
  spec: { nodeName: 'worker-1', containers: [{ name: 'main', image: 'img', ports: ports.map((p) => ({ name: `p${p}`, containerPort: p, protocol: 'TCP' })) }, { name: 'sidecar' }] },
  status: { phase: 'Running', podIP: '10.244.0.1' },
});

test('replicas share one container list and one status; a different port list is its own copy', () => {
  const interner = new Interner();
  const [a, b, c] = [apiPod('a', [80, 443]), apiPod('b', [80, 443]), apiPod('c', [8080])].map((p) => trimObject('Pod', p, interner) as Pod);
  assert.equal(a!.spec.containers, b!.spec.containers);
  assert.equal(a!.status, b!.status);
  assert.notEqual(a!.spec.containers, c!.spec.containers);
  assert.deepEqual(c!.spec.containers, [{ name: 'main', ports: [{ name: 'p8080', containerPort: 8080, protocol: 'TCP' }] }, { name: 'sidecar' }]);
  assert.notEqual(a!.metadata, b!.metadata, 'each pod keeps its own metadata');
  assert.equal(a!.metadata.annotations?.[NETWORK_STATUS_ANNOTATION], '[{"name":"default/net1","ips":["10.0.0.1"]}]');
  assert.notEqual((trimObject('Pod', apiPod('d', [80, 443])) as Pod).spec.containers, a!.spec.containers, 'without an Interner nothing is shared');
});

test('the annotation literals in trim.ts are the annotation names', () => {
  const t = trimObject('Pod', apiPod('a', [80])) as Pod;
  assert.deepEqual(Object.keys(t.metadata.annotations ?? {}), [NETWORK_STATUS_ANNOTATION]);
  const both = trimObject('Pod', { metadata: { name: 'p', namespace: 'n', uid: 'u', resourceVersion: '1', labels: {}, annotations: { [NETWORKS_ANNOTATION]: 'net1', [NETWORK_STATUS_ANNOTATION]: '[]' } } }) as Pod;
  assert.deepEqual(Object.keys(both.metadata.annotations ?? {}), [NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION]);
});
