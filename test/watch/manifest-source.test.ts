// The offline cluster source: a directory of manifests, watched. Edits reach the store within
// a second and only the changed objects are announced; a half-written file changes nothing.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { describeError } from '../../core/api/errors.js';
import { ManifestSource } from '../../core/watch/manifest-source.js';
import { ClusterStore } from '../../core/watch/store.js';
import { silent, until } from '../agent/harness.js';

let source: ManifestSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
});

async function copyExamples(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mnp-manifests-'));
  await cp('examples/cluster', dir, { recursive: true });
  return dir;
}

async function edit(path: string, from: string, to: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  assert.ok(text.includes(from), `${path} contains ${from}`);
  await writeFile(path, text.replace(from, to));
}

test('editing a policy file reaches the store within a second, announcing only that policy', async () => {
  const dir = await copyExamples();
  const store = new ClusterStore();
  source = new ManifestSource([dir], store, silent, { watch: true, debounceMs: 50 });
  assert.ok((await source.start()).ok);
  assert.ok(store.size('Pod') > 0 && store.size('MultiNetworkPolicy') > 0);
  const seen: string[] = [];
  store.onChange((kind, key) => seen.push(`${kind} ${key}`));
  const t0 = Date.now();
  await edit(join(dir, '30-policies.yaml'), 'port: 9000, endPort: 9100', 'port: 9000, endPort: 9200');
  await until('the change in the store', () => seen.length > 0, 1000);
  assert.ok(Date.now() - t0 < 1000);
  assert.deepEqual(seen, ['MultiNetworkPolicy payments/api-ingress']);
});

test('a file with a syntax error during a reload keeps the previous objects; fixing it reloads', async () => {
  const dir = await copyExamples();
  const store = new ClusterStore();
  source = new ManifestSource([dir], store, silent, { watch: true, debounceMs: 30 });
  assert.ok((await source.start()).ok);
  const pods = store.size('Pod');
  const rev = store.rev;
  const path = join(dir, '20-pods.yaml');
  const good = await readFile(path, 'utf8');
  await writeFile(path, `${good}\n---\nkind: Pod\nmetadata: [unclosed\n`);
  await until('the reload to be rejected', () => source!.stats.rejected > 0);
  assert.equal(store.rev, rev, 'nothing changed');
  assert.equal(store.size('Pod'), pods);
  await writeFile(path, good.replace('app: api\n    tier: frontend', 'app: api\n    tier: edge'));
  await until('the fixed file to load', () => store.rev > rev);
});

test('a file added to the directory adds its objects, and removing it removes them', async () => {
  const dir = await copyExamples();
  const store = new ClusterStore();
  source = new ManifestSource([dir], store, silent, { watch: true, debounceMs: 30 });
  assert.ok((await source.start()).ok);
  const extra = join(dir, '40-extra.yaml');
  await writeFile(extra, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n');
  await until('the namespace to appear', () => store.get('Namespace', 'extra') !== undefined);
  await rm(extra);
  await until('the namespace to go', () => store.get('Namespace', 'extra') === undefined);
});

test('an invalid policy is loaded failing closed; a missing path stops the start with one sentence', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mnp-manifests-'));
  await writeFile(
    join(dir, 'p.yaml'),
    'apiVersion: k8s.cni.cncf.io/v1beta1\nkind: MultiNetworkPolicy\nmetadata: {name: bad, namespace: ns1}\nspec: {podSelector: {}, ingress: [{ports: [{port: 0}]}]}\n',
  );
  const store = new ClusterStore();
  source = new ManifestSource([dir], store, silent, { watch: false, debounceMs: 30 });
  assert.ok((await source.start()).ok);
  assert.equal(store.snapshot().invalidPolicies[0]?.name, 'bad');
  const missing = new ManifestSource([join(dir, 'nope')], new ClusterStore(), silent, { watch: false, debounceMs: 30 });
  const r = await missing.start();
  assert.ok(!r.ok);
  assert.equal(describeError(r.error), `${join(dir, 'nope')}: no such file or directory`);
});
