import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCaseFile } from '../../core/conformance/load-case.js';
import { loadManifests } from '../../core/source/manifest-files.js';
import { clusterManifest } from './manifests.js';

test('a case written as manifests loads back as the same cluster (what the agent process reads in the zero-gap test)', async () => {
  const c = await loadCaseFile(join(import.meta.dirname, 'scenarios/zero-gap.yaml'));
  assert.ok(c.ok, JSON.stringify(c));
  const dir = await mkdtemp(join(tmpdir(), 'dp-manifests-'));
  try {
    await writeFile(join(dir, 'cluster.yaml'), clusterManifest(c.value.cluster));
    const back = await loadManifests([dir]);
    assert.deepEqual(back.errors, []);
    const names = (x: { metadata: { name: string; namespace?: string } }[]) => x.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
    assert.deepEqual(names([...back.cluster.pods]), names([...c.value.cluster.pods]));
    assert.deepEqual(names([...back.cluster.policies]), names([...c.value.cluster.policies]));
    assert.deepEqual(names([...back.cluster.networks]), names([...c.value.cluster.networks]));
    assert.deepEqual(
      back.cluster.pods.map((p) => p.metadata.annotations),
      c.value.cluster.pods.map((p) => p.metadata.annotations),
    );
    assert.deepEqual(back.cluster.policies.map((p) => p.spec), c.value.cluster.policies.map((p) => p.spec));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
