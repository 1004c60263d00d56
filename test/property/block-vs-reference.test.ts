// The shared-block layout, run through the kernel model, must give the Kubernetes verdict:
// the same property as compiled-vs-reference.test.ts, but every frame is classified by the
// block of the switch where it enters (indev = its port), through programSwitches on
// stand-in switches. Two switches exercise the paths that cross from one block to another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decide } from '../../core/conformance/decide.js';
import { ALL_ENCAPSULATIONS } from '../../core/pipeline/compile.js';
import { DEFAULT_NODE_OPTIONS, programNode, type NodeOptions } from '../../core/pipeline/program-node.js';
import type { SwitchProgram } from '../../core/pipeline/program-switch.js';
import { describeModelError } from '../../core/tcmodel/model-error.js';
import { checkProgram } from '../../core/tcmodel/program-check.js';
import { clusterWithProbes } from '../reference/arbitraries.js';
import { referenceVerdict } from '../reference/k8s-reference.js';
import { builtinAdapters } from '../fixtures/offline-adapters.js';
import { standInSwitches, withRepresentors } from '../fixtures/stand-in-switches.js';

const runs = Number(process.env['PROPERTY_RUNS'] ?? 300);

// [label, options, stand-in switches, MACs in network-status]
const settings: [string, NodeOptions, number, boolean][] = [
  ['stateful, every encapsulation policed, one switch', { ...DEFAULT_NODE_OPTIONS, encapsulations: ALL_ENCAPSULATIONS }, 1, true],
  ['stateful, encapsulations auto, one switch', DEFAULT_NODE_OPTIONS, 1, true],
  ['stateful, every encapsulation policed, two switches', { ...DEFAULT_NODE_OPTIONS, encapsulations: ALL_ENCAPSULATIONS }, 2, true],
  ['stateless, untagged only, one switch', { ...DEFAULT_NODE_OPTIONS, stateful: false, encapsulations: ['untagged'] }, 1, true],
  ['stateful, every encapsulation policed, one switch, no MACs: ingress keyed on addresses', { ...DEFAULT_NODE_OPTIONS, encapsulations: ALL_ENCAPSULATIONS }, 1, false],
];

for (const [label, opts, switchCount, macs] of settings) {
  test(`shared-block programs agree with the Kubernetes reference evaluator on random clusters (${label})`, async () => {
    const adapters = await builtinAdapters(['accelerated-bridge']);
    await fc.assert(
      fc.asyncProperty(clusterWithProbes(), async ({ cluster, externals, node, probes }) => {
        const c = withRepresentors(cluster, macs);
        const np = programNode(c, node, adapters, opts);
        const switches = await standInSwitches(np, { stateful: opts.stateful, ctZoneBase: opts.ctZone, switches: switchCount });
        for (const sp of switches) {
          assert.deepEqual(checkProgram(sp.compiled.filters).map(describeModelError), [], `block ${sp.eswitch.id} would not install`);
          assert.ok(sp.compiled.filters.every((f) => f.hook === 'ingress'), 'a block program lives on the ingress hook only');
        }
        probes.forEach((probe, i) => {
          const ref = referenceVerdict(c, externals, node, probe);
          const got = decide(np, externals, probe, 40000 + i, switches);
          assert.equal(got.problem, undefined, `program problem for ${JSON.stringify(probe)}: ${got.problem}`);
          // stateless programs need explicit rules for replies: compare only where the reference denies
          if (!opts.stateful && ref.verdict === 'allow') return;
          assert.equal(got.verdict, ref.verdict, `${JSON.stringify(probe)}: reference says ${ref.verdict} (${ref.reason}); block program says ${got.verdict} (${got.reason})`);
        });
      }),
      { numRuns: opts.stateful ? runs : Math.ceil(runs / 3) },
    );
  });
}

/** The block programs with some filters taken out. */
const without = (switches: readonly SwitchProgram[], drop: (f: SwitchProgram['compiled']['filters'][number]) => boolean): SwitchProgram[] =>
  switches.map((sp) => ({ ...sp, compiled: { ...sp.compiled, filters: sp.compiled.filters.filter((f) => !drop(f)) } }));

for (const [what, broken] of [
  ['forgets the drops of the SOURCE and DESTINATION chains', (f: { chain: number; actions: readonly { kind: string }[] }) => f.chain !== 0 && f.actions[0]?.kind === 'drop'],
  ['forgets the indev dispatch to SOURCE', (f: { chain: number; match: { indev?: string } }) => f.chain === 0 && f.match.indev !== undefined],
] as const) {
  test(`the block property can fail: a block that ${what} changes verdicts`, async () => {
    const adapters = await builtinAdapters(['accelerated-bridge']);
    let disagreements = 0;
    await fc.assert(
      fc.asyncProperty(clusterWithProbes(), async ({ cluster, externals, node, probes }) => {
        const c = withRepresentors(cluster, true);
        const np = programNode(c, node, adapters);
        const switches = without(await standInSwitches(np, { stateful: true, ctZoneBase: 0 }), broken as (f: unknown) => boolean);
        probes.forEach((probe, i) => {
          if (decide(np, externals, probe, 40000 + i, switches).verdict !== referenceVerdict(c, externals, node, probe).verdict) disagreements++;
        });
      }),
      { numRuns: 200, seed: 7 },
    );
    assert.ok(disagreements > 0, `removing what ${what} must change some verdicts, else the property proves nothing`);
  });
}

test('the stand-in switches hold every representor of the node, and two switches split them', async () => {
  const adapters = await builtinAdapters(['accelerated-bridge']);
  const [world] = fc.sample(clusterWithProbes(), { numRuns: 1, seed: 3 });
  const np = programNode(withRepresentors(world!.cluster), world!.node, adapters);
  const one = await standInSwitches(np, { stateful: true, ctZoneBase: 0 });
  const two = await standInSwitches(np, { stateful: true, ctZoneBase: 0, switches: 2 });
  const members = (sws: readonly SwitchProgram[]) => sws.flatMap((s) => s.members.flatMap((m) => m.ports)).sort();
  assert.equal(one.length, 1);
  assert.ok(one[0]!.block.ports.includes('uplink'));
  assert.deepEqual(members(two), members(one));
  assert.notEqual(two[0]?.ctZone, two[1]?.ctZone, 'each switch has its own conntrack zone');
});

/** Network 2 reuses network 1's subnets (10.2.0.h -> 10.1.0.h, fd00:2:: -> fd00:1::): separate L2 networks may overlap. */
function overlapping<T>(x: T): T {
  return JSON.parse(JSON.stringify(x).replaceAll('10.2.0.', '10.1.0.').replaceAll('fd00:2:', 'fd00:1:')) as T;
}

// With ingress keyed on addresses alone, pods of two networks sharing an address on one switch
// got each other's ingress policy (over-allow). Keyed on dst_mac + address they never do; the
// drop by address that also stops unicast datagrams in broadcast frames (a lab finding) may
// deny a frame toward the other pod sharing the address: fail closed, never open.
test('two networks on one switch reusing a subnet (MACs known): the block never allows what the reference denies', async () => {
  const adapters = await builtinAdapters(['accelerated-bridge']);
  await fc.assert(
    fc.asyncProperty(clusterWithProbes(), async (world) => {
      const { cluster, externals, node, probes } = overlapping(world);
      const c = withRepresentors(cluster, true);
      const np = programNode(c, node, adapters, DEFAULT_NODE_OPTIONS);
      const switches = await standInSwitches(np, { stateful: true, ctZoneBase: 0 });
      probes.forEach((probe, i) => {
        const ref = referenceVerdict(c, externals, node, probe);
        assert.equal(decide(np, externals, probe, 40000 + i).verdict, ref.verdict, 'per-port keeps the networks apart');
        const got = decide(np, externals, probe, 40000 + i, switches);
        assert.equal(got.problem, undefined, `program problem for ${JSON.stringify(probe)}: ${got.problem}`);
        assert.ok(!(got.verdict === 'allow' && ref.verdict === 'deny'), `${JSON.stringify(probe)}: reference says deny (${ref.reason}); block program allows (${got.reason})`);
      });
    }),
    { numRuns: runs },
  );
});

test('the overlap property can fail: without MACs, two networks reusing a subnet on one switch mix ingress policies, and compileBlock says so', async () => {
  const adapters = await builtinAdapters(['accelerated-bridge']);
  let disagreements = 0;
  let warned = 0;
  await fc.assert(
    fc.asyncProperty(clusterWithProbes(), async (world) => {
      const { cluster, externals, node, probes } = overlapping(world);
      const c = withRepresentors(cluster, false);
      const np = programNode(c, node, adapters, DEFAULT_NODE_OPTIONS);
      const switches = await standInSwitches(np, { stateful: true, ctZoneBase: 0 });
      let wrong = false;
      probes.forEach((probe, i) => {
        if (decide(np, externals, probe, 40000 + i, switches).verdict !== referenceVerdict(c, externals, node, probe).verdict) wrong = true;
      });
      if (wrong) {
        disagreements++;
        if (switches.some((sp) => sp.compiled.diagnostics.some((d) => d.id === 'ingress-keyed-by-address'))) warned++;
      }
    }),
    { numRuns: 300, seed: 7 },
  );
  assert.ok(disagreements > 0, 'address-keyed ingress must go wrong on overlapping networks, else the MAC property proves nothing');
  assert.equal(warned, disagreements, 'every such block carries the ingress-keyed-by-address diagnostic');
});
