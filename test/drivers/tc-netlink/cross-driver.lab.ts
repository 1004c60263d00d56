// Kernel-facing: the netlink and cmdline drivers read one kernel state as the same canonical
// objects and agree on every compiled program, in both directions. The programs are those
// `compile` emits (through programNode) for the shared conformance cases (every round:
// the initial state and each step) and examples/cluster, under three option sets (the
// default; every encapsulation; stateless with every encapsulation and ct zone 7).
//
// Two devices, one program after the other: on device A the even programs are installed
// by cmdline and the odd ones by netlink, on device B the other way round, so each driver
// also changes (replace by handle, add, delete) what the other one installed. After each
// install: the other driver's observe equals the installer's (deepEqual: handles, offload
// flags and foreign counts too), and diff of the program against it is empty.
//
// Then the same for the shared-block layout: the block program of every switch
// (programSwitches through test/fixtures/stand-in-switches.ts, one and two stand-in
// switches) of the same clusters and option sets, one after the other on their blocks, the
// installer alternating; ports are dummy devices made as programs name them. Here the
// observation also holds each port's binding, so binds (plain and replacing) are checked.
//   /work/shared/lab/run-in-vm.sh --timeout 1800 env -u NODE_EXTRA_CA_CERTS \
//     node --import tsx --test test/drivers/tc-netlink/cross-driver.lab.ts
// XDRV_ONLY=per-port or XDRV_ONLY=block runs one half.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import type { TcDriver } from '../../../core/api/tc-driver.js';
import { describeError } from '../../../core/api/errors.js';
import { applyStep, loadCaseFile } from '../../../core/conformance/load-case.js';
import type { Netdev, SharedBlock } from '../../../core/model/attachment.js';
import type { ObservedTc, TcFilter } from '../../../core/model/tc.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import { diff } from '../../../core/pipeline/diff.js';
import { DEFAULT_NODE_OPTIONS, programNode, type NodeOptions } from '../../../core/pipeline/program-node.js';
import { loadManifests } from '../../../core/source/manifest-files.js';
import { ExecaExec } from '../../../drivers/shared/execa-exec.js';
import { CmdlineTcDriver } from '../../../drivers/tc-cmdline/cmdline-driver.js';
import { openFfiNetlinkSocket } from '../../../drivers/tc-netlink/ffi-socket.js';
import { NetlinkTcDriver } from '../../../drivers/tc-netlink/netlink-driver.js';
import { acceleratedBridge, bond } from '../../fixtures/cluster-builder.js';
import { standInSwitches } from '../../fixtures/stand-in-switches.js';

const CASES = '/work/shared/conformance/cases';
const EXAMPLES = new URL('../../../examples/cluster', import.meta.url).pathname;
const VARIANTS: readonly [string, NodeOptions][] = [
  ['default', DEFAULT_NODE_OPTIONS],
  ['all-encapsulations', { ...DEFAULT_NODE_OPTIONS, encapsulations: ['untagged', '802.1Q', '802.1ad'] }],
  ['stateless-zone-7', { stateful: false, ctZone: 7, encapsulations: ['untagged', '802.1Q', '802.1ad'] }],
];

interface Program {
  readonly name: string;
  readonly filters: readonly TcFilter[];
}

interface BlockProgram {
  readonly name: string;
  readonly target: Netdev & { readonly block: SharedBlock };
  readonly filters: readonly TcFilter[];
}

/** Every cluster state of the conformance cases (initial and after each step) and examples/cluster, with its node. */
async function clusters(): Promise<{ name: string; cluster: Cluster; node: string }[]> {
  const out: { name: string; cluster: Cluster; node: string }[] = [];
  for (const file of (await readdir(CASES)).filter((f) => f.endsWith('.yaml')).sort()) {
    const loaded = await loadCaseFile(join(CASES, file));
    if (!loaded.ok) throw new Error(describeError(loaded.error));
    const c = loaded.value;
    let cluster = c.cluster;
    let externals = c.externals;
    out.push({ name: file, cluster, node: c.node });
    c.steps.forEach((s, i) => {
      ({ cluster, externals } = applyStep(cluster, externals, s));
      out.push({ name: `${file} step ${i + 1}`, cluster, node: c.node });
    });
  }
  const { cluster, errors } = await loadManifests([EXAMPLES]);
  if (errors.length > 0) throw new Error(errors.map(describeError).join('\n'));
  out.push({ name: 'examples/cluster', cluster, node: 'worker-1' });
  return out;
}

async function programs(): Promise<Program[]> {
  const out: Program[] = [];
  const seen = new Set<string>();
  for (const { name, cluster, node } of await clusters()) {
    for (const [variant, opts] of VARIANTS) {
      for (const p of programNode(cluster, node, [acceleratedBridge, bond], opts).programs) {
        const key = JSON.stringify(p.compiled.filters);
        if (p.compiled.filters.length === 0 || seen.has(key)) continue;
        seen.add(key);
        out.push({ name: `${name} ${p.endpoint.key} (${variant})`, filters: p.compiled.filters });
      }
    }
  }
  return out;
}

/** The block program of every stand-in switch (one switch, then two) of every cluster state and option set. */
async function blockPrograms(): Promise<BlockProgram[]> {
  const out: BlockProgram[] = [];
  const seen = new Set<string>();
  for (const { name, cluster, node } of await clusters()) {
    for (const [variant, opts] of VARIANTS) {
      const np = programNode(cluster, node, [acceleratedBridge, bond], opts);
      for (const switches of [1, 2]) {
        for (const sp of await standInSwitches(np, { stateful: opts.stateful, ctZoneBase: opts.ctZone, switches })) {
          const key = JSON.stringify([sp.block, sp.compiled.filters]);
          if (sp.compiled.filters.length === 0 || seen.has(key)) continue;
          seen.add(key);
          out.push({ name: `${name} ${sp.eswitch.id} of ${switches} (${variant})`, target: { name: `block:${sp.block.index}`, block: sp.block }, filters: sp.compiled.filters });
        }
      }
    }
  }
  return out;
}

const exec = new ExecaExec();
const logger = pino({ level: 'silent' });

async function sh(file: string, args: string[]): Promise<string> {
  const r = await exec.run(file, args);
  assert.equal(r.exitCode, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function value<T>(r: { ok: true; value: T } | { ok: false; error: Parameters<typeof describeError>[0] }, what: string): T {
  if (!r.ok) assert.fail(`${what}: ${describeError(r.error)}`);
  return r.value;
}

/** observe → diff → apply with one driver until diff is empty; the final observation. */
async function install(driver: TcDriver, dev: Netdev, filters: readonly TcFilter[]): Promise<ObservedTc> {
  for (let pass = 0; pass < 3; pass++) {
    const observed = value(await driver.observe(dev), `${driver.name} observe ${dev.name}`);
    const { plan } = diff(filters, observed);
    if (plan.ops.length === 0) return observed;
    value(await driver.apply(dev, plan), `${driver.name} apply ${dev.name} (${plan.ops.length} ops)`);
  }
  assert.fail(`${driver.name} did not converge on ${dev.name}`);
}

const only = process.env['XDRV_ONLY'];

if (process.env['KLAB_GUEST'] !== '1') {
  test('kernel tests run only in the lab VM (KLAB_GUEST=1)', { skip: true }, () => {});
} else if (only !== 'block') {
  const all = await programs();
  const cmdline = new CmdlineTcDriver(exec, logger, {});
  const netlink = new NetlinkTcDriver(openFfiNetlinkSocket, logger, {});
  const devs = ['xdrvA', 'xdrvB'];
  const stats = { programs: all.length, filters: 0, replaces: 0 };

  test('set up two devices', async () => {
    for (const d of devs) {
      await sh('ip', ['link', 'add', d, 'type', 'dummy']);
      await sh('ip', ['link', 'set', d, 'up']);
    }
    assert.ok(all.length > 20, `only ${all.length} programs`);
  });

  all.forEach((p, i) => {
    test(`${p.name}: ${p.filters.length} filters; installed by either driver, the other reads the same objects and diffs to nothing`, async () => {
      for (const [d, dev] of devs.entries()) {
        const [installer, other] = (i + d) % 2 === 0 ? [cmdline, netlink] : [netlink, cmdline];
        const before = value(await installer.observe({ name: dev }), 'observe before');
        stats.replaces += diff(p.filters, before).plan.ops.filter((o) => o.op === 'replace').length;
        const installed = await install(installer, { name: dev }, p.filters);
        const seen = value(await other.observe({ name: dev }), `${other.name} observe`);
        assert.deepEqual(seen, installed, `${other.name} reads ${dev} as ${installer.name} does`);
        assert.deepEqual(diff(p.filters, seen).plan.ops, [], `${other.name} sees nothing to change after ${installer.name} installed`);
      }
      stats.filters += p.filters.length;
    });
  });

  test('removing the last program with either driver leaves nothing the other one sees', async () => {
    for (const [d, dev] of devs.entries()) {
      const [installer, other] = d === 0 ? [netlink, cmdline] : [cmdline, netlink];
      await install(installer, { name: dev }, []);
      assert.deepEqual(value(await other.observe({ name: dev }), 'observe'), { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } });
      await sh('ip', ['link', 'del', dev]);
    }
    netlink.dispose();
    process.stdout.write(`# cross-driver: ${stats.programs} programs, ${stats.filters} filters per device, ${stats.replaces} replaces across drivers\n`);
  });
}

if (process.env['KLAB_GUEST'] === '1' && only !== 'per-port') {
  const all = await blockPrograms();
  const cmdline = new CmdlineTcDriver(exec, logger, {});
  const netlink = new NetlinkTcDriver(openFfiNetlinkSocket, logger, {});
  const stats = { programs: all.length, filters: 0, binds: 0, rebinds: 0, replaces: 0 };
  const last = new Map<number, BlockProgram>();
  const made = new Set<string>();

  /**
   * Dummy ports as programs name them. A port that a previous program bound to another block
   * (a stand-in port may change switch between programs, a real one never does) gets an empty
   * clsact of its own instead, so that binding it is a replacing bind.
   */
  async function preparePorts(target: BlockProgram['target']): Promise<void> {
    for (const port of target.block.ports) {
      if (!made.has(port)) {
        await sh('ip', ['link', 'add', port, 'type', 'dummy']);
        made.add(port);
      }
      const q = JSON.parse(await sh('tc', ['-j', 'qdisc', 'show', 'dev', port])) as { kind: string; ingress_block?: number }[];
      if (q.some((x) => x.kind === 'clsact' && x.ingress_block !== undefined && x.ingress_block !== target.block.index)) {
        await sh('tc', ['qdisc', 'del', 'dev', port, 'clsact']);
        await sh('tc', ['qdisc', 'add', 'dev', port, 'clsact']);
      }
    }
  }

  test('block programs: more than 20, with indev filters', () => {
    assert.ok(all.length > 20, `only ${all.length} block programs`);
    assert.ok(all.every((p) => p.filters.every((f) => f.hook === 'ingress')));
    assert.ok(all.some((p) => p.filters.some((f) => f.match.indev !== undefined)));
  });

  all.forEach((p, i) => {
    test(`block ${p.name}: ${p.filters.length} filters on ${p.target.block.ports.length} ports; installed by either driver, the other reads the same objects (ports included) and diffs to nothing`, async () => {
      await preparePorts(p.target);
      const [installer, other] = i % 2 === 0 ? [cmdline, netlink] : [netlink, cmdline];
      const before = value(await installer.observe(p.target), 'observe before');
      const ops = diff(p.filters, before).plan.ops;
      stats.binds += ops.filter((o) => o.op === 'bind').length;
      stats.rebinds += ops.filter((o) => o.op === 'bind' && o.replace).length;
      stats.replaces += ops.filter((o) => o.op === 'replace').length;
      const installed = await install(installer, p.target, p.filters);
      assert.deepEqual(installed.ports?.map((x) => x.state), p.target.block.ports.map(() => 'bound'), 'every port is bound');
      const seen = value(await other.observe(p.target), `${other.name} observe`);
      assert.deepEqual(seen, installed, `${other.name} reads ${p.target.name} as ${installer.name} does`);
      assert.deepEqual(diff(p.filters, seen).plan.ops, [], `${other.name} sees nothing to change after ${installer.name} installed`);
      last.set(p.target.block.index, p);
      stats.filters += p.filters.length;
    });
  });

  test("removing the last program of each block with either driver leaves its ports as they were and nothing the other one sees", async () => {
    for (const [i, p] of [...last.values()].entries()) {
      const [installer, other] = i % 2 === 0 ? [netlink, cmdline] : [cmdline, netlink];
      // later programs may have taken some of its ports to another block
      const before = value(await installer.observe(p.target), 'observe before');
      await install(installer, p.target, []);
      assert.deepEqual(value(await other.observe(p.target), 'observe'), { ...before, filters: [], foreign: { ingress: 0, egress: 0 } });
    }
    for (const port of made) await sh('ip', ['link', 'del', port]);
    netlink.dispose();
    process.stdout.write(`# cross-driver blocks: ${stats.programs} programs, ${stats.filters} filters, ${stats.binds} binds (${stats.rebinds} replacing), ${stats.replaces} replaces across drivers\n`);
  });
}
