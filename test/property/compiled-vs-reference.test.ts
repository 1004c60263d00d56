// The compiled TC program, run through the kernel model, must give the Kubernetes verdict.
// The reference evaluator (test/reference/k8s-reference.ts) is written straight from the
// NetworkPolicy rules and shares no code with render or compile, so agreement on random
// clusters is evidence for both stages together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decide } from '../../core/conformance/decide.js';
import { NETWORK_STATUS_ANNOTATION, type Pod } from '../../core/model/k8s.js';
import type { Cluster } from '../../core/model/snapshot.js';
import { ALL_ENCAPSULATIONS } from '../../core/pipeline/compile.js';
import { DEFAULT_NODE_OPTIONS, programNode, type NodeOptions } from '../../core/pipeline/program-node.js';
import { clusterWithProbes } from '../reference/arbitraries.js';
import { referenceVerdict } from '../reference/k8s-reference.js';
import { builtinAdapters } from '../fixtures/offline-adapters.js';

/** The generator writes plain network-status entries; the agent needs the VF's device-info. */
function withDeviceInfo(cluster: Cluster): Cluster {
  const pods = cluster.pods.map((p, i): Pod => {
    const raw = p.metadata.annotations?.[NETWORK_STATUS_ANNOTATION];
    if (!raw) return p;
    const entries = (JSON.parse(raw) as Record<string, unknown>[]).map((e, j) => ({
      ...e,
      'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': `0000:${(i + 16).toString(16)}:00.${j}`, 'representor-device': `rep${i}x${j}` } },
    }));
    return { ...p, metadata: { ...p.metadata, annotations: { ...p.metadata.annotations, [NETWORK_STATUS_ANNOTATION]: JSON.stringify(entries) } } };
  });
  return { ...cluster, pods };
}

const runs = Number(process.env['PROPERTY_RUNS'] ?? 300);

for (const [label, opts] of [
  ['stateful, every encapsulation policed', { ...DEFAULT_NODE_OPTIONS, encapsulations: ALL_ENCAPSULATIONS }],
  ['stateful, encapsulations auto', DEFAULT_NODE_OPTIONS],
  ['stateless, untagged only', { ...DEFAULT_NODE_OPTIONS, stateful: false, encapsulations: ['untagged'] }],
] as [string, NodeOptions][]) {
  test(`compiled programs agree with the Kubernetes reference evaluator on random clusters (${label})`, async () => {
    const adapters = await builtinAdapters(['accelerated-bridge']);
    fc.assert(
      fc.property(clusterWithProbes(), ({ cluster, externals, node, probes }) => {
        const c = withDeviceInfo(cluster);
        const np = programNode(c, node, adapters, opts);
        probes.forEach((probe, i) => {
          const ref = referenceVerdict(c, externals, node, probe);
          // stateless programs need explicit rules for replies: only compare allow-all-or-deny
          // situations where the reference says deny, or where no reply direction is isolated
          const got = decide(np, externals, probe, 40000 + i);
          assert.equal(got.problem, undefined, `program problem for ${JSON.stringify(probe)}: ${got.problem}`);
          if (!opts.stateful && ref.verdict === 'allow') return;
          assert.equal(got.verdict, ref.verdict, `${JSON.stringify(probe)}: reference says ${ref.verdict} (${ref.reason}); compiled program says ${got.verdict} (${got.reason})`);
        });
      }),
      { numRuns: opts.stateful ? runs : Math.ceil(runs / 3) },
    );
  });
}

test('the property can fail: a compiler that forgets the verdict chain drop lets denied probes through', async () => {
  const adapters = await builtinAdapters(['accelerated-bridge']);
  let disagreements = 0;
  fc.assert(
    fc.property(clusterWithProbes(), ({ cluster, externals, node, probes }) => {
      const c = withDeviceInfo(cluster);
      const np = programNode(c, node, adapters);
      const broken = {
        ...np,
        programs: np.programs.map((p) => ({ ...p, compiled: { ...p.compiled, filters: p.compiled.filters.filter((f) => !(f.chain !== 0 && f.actions[0]?.kind === 'drop')) } })),
      };
      probes.forEach((probe, i) => {
        if (decide(broken, externals, probe, 40000 + i).verdict !== referenceVerdict(c, externals, node, probe).verdict) disagreements++;
      });
    }),
    { numRuns: 200, seed: 7 },
  );
  assert.ok(disagreements > 0, 'removing the drops must change some verdicts, else the property proves nothing');
});
