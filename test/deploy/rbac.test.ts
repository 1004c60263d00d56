// The ClusterRole grants exactly what the agent does. The agent runs as in production
// (kubeconfig, real client-node informers, events) against the fake API server, through
// restarts and a 410 relist, with an invalid policy that makes it post an Event; every request
// the server saw becomes (API group, resource, verb), and that set must equal the rules of
// the ClusterRole in the kustomize base and in the Helm chart.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { Agent } from '../../core/agent/agent.js';
import { configInput, parse } from '../../core/cli/args.js';
import { agentCommand } from '../../core/cli/agent-command.js';
import { validateConfig } from '../../core/config.js';
import { FAST_INFORMERS, FAST_RECONCILER, policy, seedBase, until } from '../agent/harness.js';
import { kubeconfigYaml } from '../fake-apiserver/kubeconfig.js';
import { FakeApiServer, type RecordedRequest } from '../fake-apiserver/server.js';
import type { Manifest } from './k8s-schema.js';
import { byKind, helmTemplate, kustomize } from './render.js';

const RESOURCE: Record<RecordedRequest['resource'], [string, string] | undefined> = {
  pods: ['', 'pods'],
  namespaces: ['', 'namespaces'],
  nads: ['k8s.cni.cncf.io', 'network-attachment-definitions'],
  policies: ['k8s.cni.cncf.io', 'multi-networkpolicies'],
  events: ['', 'events'],
  other: undefined,
};
const VERB: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** The verb RBAC checks for a request: the fake server serves collections only, so a GET is list or watch. */
function permission(r: RecordedRequest): string {
  const res = RESOURCE[r.resource];
  assert.ok(res, `a request outside the four kinds and events: ${JSON.stringify(r)}`);
  const verb = r.method === 'GET' ? (r.watch ? 'watch' : 'list') : VERB[r.method];
  assert.ok(verb, `unexpected method ${r.method}`);
  return `${res[0]}|${res[1]}|${verb}`;
}

function granted(role: Manifest): Set<string> {
  const out = new Set<string>();
  for (const rule of role['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[]) {
    assert.equal(rule.resourceNames, undefined);
    for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) {
      assert.ok(!g.includes('*') && !r.includes('*') && !v.includes('*'), 'no wildcards');
      out.add(`${g}|${r}|${v}`);
    }
  }
  return out;
}

async function permissionsUsed(): Promise<Set<string>> {
  const server = await FakeApiServer.start();
  seedBase(server);
  // fails closed and is reported with an Event (create)
  server.apply('policies', policy('ns1/broken', 'ns1/net1', { podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] }));
  const dir = await mkdtemp(join(tmpdir(), 'mnp-rbac-'));
  await writeFile(join(dir, 'kubeconfig'), kubeconfigYaml(server.url));
  const c = validateConfig(configInput(parse(['--kubeconfig', join(dir, 'kubeconfig'), '--tc-driver', 'dry-run', '--hostname-override', 'worker-1']).values));
  assert.ok(c.ok);
  const stop = new AbortController();
  let agent: Agent | undefined;
  const done = agentCommand(c.value, () => undefined, {
    logDestination: new Writable({ write: (_c, _e, cb) => cb() }),
    informerTiming: FAST_INFORMERS,
    reconcilerTiming: FAST_RECONCILER,
    signal: stop.signal,
    onStarted: (a) => (agent = a),
  });
  try {
    await until('ready', () => agent?.isReady === true);
    await until('the PolicyInvalid event', () => server.events.some((e) => (e as { reason?: string }).reason === 'PolicyInvalid'));
    // a watch closed by the server, a 410 relist and a failed list: no new kind of request
    server.closeWatches('pods');
    server.expireWatches('policies');
    server.failList('namespaces', 1);
    server.closeWatches('namespaces');
    await until('the relist', () => server.requests.filter((r) => r.resource === 'policies' && !r.watch).length >= 2);
    stop.abort();
    assert.equal((await done), 0);
    return new Set(server.requests.map(permission));
  } finally {
    stop.abort();
    await server.stop();
  }
}

test('the ClusterRole of the kustomize base and of the Helm chart is exactly what the agent uses', async () => {
  const used = await permissionsUsed();
  assert.deepEqual([...used].sort(), [
    'k8s.cni.cncf.io|multi-networkpolicies|list',
    'k8s.cni.cncf.io|multi-networkpolicies|watch',
    'k8s.cni.cncf.io|network-attachment-definitions|list',
    'k8s.cni.cncf.io|network-attachment-definitions|watch',
    '|events|create',
    '|namespaces|list',
    '|namespaces|watch',
    '|pods|list',
    '|pods|watch',
  ]);
  for (const [where, docs] of [
    ['kustomize', await kustomize()],
    ['helm', await helmTemplate('mnp', 'kube-system')],
  ] as const) {
    const roles = byKind(docs, 'ClusterRole');
    assert.equal(roles.length, 1, where);
    assert.deepEqual([...granted(roles[0]!)].sort(), [...used].sort(), `${where}: ClusterRole rules differ from what the agent uses`);
    assert.equal(byKind(docs, 'Role').length, 0, `${where}: no namespaced Role`);
  }
});
