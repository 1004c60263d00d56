// Kernel-facing: the cmdline driver on shared-block targets against real tc, in the lab VM
// (not part of `npm test`, which needs no VM). Each case gets its own veth ports and block.
//   /work/shared/lab/run-in-vm.sh --timeout 900 env -u NODE_EXTRA_CA_CERTS \
//     node --import tsx --test test/drivers/tc-cmdline/block-contract.lab.ts
// The dry-run driver runs the same plans alongside, so the fake kernel is held to what the
// kernel did (ports, filters and handles).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import type { TcDriver } from '../../../core/api/tc-driver.js';
import type { Netdev } from '../../../core/model/attachment.js';
import type { Plan } from '../../../core/model/plan.js';
import type { ObservedTc, TcAction, TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { diff } from '../../../core/pipeline/diff.js';
import { BLOCK_INDEX_BASE } from '../../../core/pipeline/layout.js';
import { DryRunTcDriver } from '../../../drivers/dry-run/dry-run-driver.js';
import { ExecaExec } from '../../../drivers/shared/execa-exec.js';
import { CmdlineTcDriver } from '../../../drivers/tc-cmdline/cmdline-driver.js';
import { blockProgram } from './fixtures/block-program.js';

const exec = new ExecaExec();
const logger = pino({ level: 'silent' });
let n = 0;

async function run(file: string, args: string[], input?: string): Promise<string> {
  const r = await exec.run(file, args, input === undefined ? {} : { input });
  assert.equal(r.exitCode, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Ports {
  readonly a: string;
  readonly b: string;
  readonly u: string;
  readonly target: Netdev;
  readonly program: TcFilter[];
  cleanup(): Promise<void>;
}

/** Three veth ports (pod A, pod B, uplink stand-in) of a block of their own, with its program. */
async function freshPorts(): Promise<Ports> {
  const id = `kb${process.pid % 10000}n${n++}`;
  const [a, b, u] = ['a', 'b', 'u'].map((s) => `${id}${s}`) as [string, string, string];
  for (const p of [a, b, u]) await run('ip', ['link', 'add', p, 'type', 'veth', 'peer', 'name', `${p}p`]);
  const index = BLOCK_INDEX_BASE + 0x100 + n;
  return {
    a, b, u,
    target: { name: `block:${index}`, block: { index, ports: [a, b, u] } },
    program: blockProgram({ a, b }),
    cleanup: async () => {
      for (const p of [a, b, u]) await run('ip', ['link', 'del', p]);
    },
  };
}

async function observe(d: TcDriver, dev: Netdev): Promise<ObservedTc> {
  const r = await d.observe(dev);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

/** observe → diff → apply until diff has nothing left, through the cmdline driver and, plan for plan, the dry-run one. */
async function converge(t: TestContext, cmd: TcDriver, dry: DryRunTcDriver, dev: Netdev, desired: readonly TcFilter[]): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (let i = 0; i < 3; i++) {
    let t0 = performance.now();
    const o = await observe(cmd, dev);
    const observeMs = performance.now() - t0;
    const { plan } = diff(desired, o);
    if (plan.ops.length === 0) return plans;
    t0 = performance.now();
    const r = await cmd.apply(dev, plan);
    t.diagnostic(`pass ${i + 1}: observe ${observeMs.toFixed(0)} ms, apply of ${plan.ops.length} ops ${(performance.now() - t0).toFixed(0)} ms`);
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok((await dry.apply(dev, plan)).ok, 'the dry-run driver accepts what the kernel accepted');
    plans.push(plan);
  }
  assert.fail('did not converge in 3 passes');
}

const keys = (fs: readonly TcFilter[]): string[] => fs.map(filterKey).sort();
const withHandles = (fs: readonly TcFilter[]): string[] => fs.map((f) => `${filterKey(f)}#${f.handle}`).sort();

/** The kernel's and the fake's view of the block agree, handles included. */
async function sameAsDryRun(cmd: TcDriver, dry: DryRunTcDriver, dev: Netdev): Promise<ObservedTc> {
  const k = await observe(cmd, dev);
  const f = await observe(dry, dev);
  assert.deepEqual(k.ports, f.ports);
  assert.equal(k.qdisc, f.qdisc);
  assert.deepEqual(k.foreign, f.foreign);
  assert.deepEqual(withHandles(k.filters), withHandles(f.filters));
  return k;
}

if (process.env['KLAB_GUEST'] !== '1') {
  test('kernel tests run only in the lab VM (KLAB_GUEST=1)', { skip: true }, () => {});
} else {
  test('bare ports: one pass binds every port and installs the compiled block program; it reads back equal and the next diff is empty', async (t) => {
    const p = await freshPorts();
    try {
      const cmd = new CmdlineTcDriver(exec, logger, {});
      const dry = new DryRunTcDriver();
      const before = await observe(cmd, p.target);
      assert.deepEqual(before, { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 }, ports: [p.a, p.b, p.u].map((name) => ({ name, state: 'absent' })) });
      const plans = await converge(t, cmd, dry, p.target, p.program);
      assert.equal(plans.length, 1);
      assert.deepEqual(plans[0]!.ops.filter((op) => op.op === 'bind').length, 3);
      const o = await sameAsDryRun(cmd, dry, p.target);
      assert.equal(o.qdisc, 'clsact');
      assert.deepEqual(o.ports?.map((x) => x.state), ['bound', 'bound', 'bound']);
      assert.deepEqual(keys(o.filters), keys(p.program));
      assert.ok(o.filters.some((f) => f.match.indev === p.a), 'indev reads back');
      assert.deepEqual(diff(p.program, o).plan.ops, []);
      const q = JSON.parse(await run('tc', ['-j', 'qdisc', 'show', 'dev', p.u])) as { kind: string; ingress_block?: number }[];
      assert.ok(q.some((x) => x.kind === 'clsact' && x.ingress_block === p.target.block!.index), 'the uplink stand-in is bound too');
    } finally {
      await p.cleanup();
    }
  });

  test('a port with a foreign ingress qdisc (and one with a busy clsact) is reported foreign and never touched; an empty clsact is rebound', async (t) => {
    const p = await freshPorts();
    const busy = `${p.a.slice(0, -1)}c`;
    await run('ip', ['link', 'add', busy, 'type', 'veth', 'peer', 'name', `${busy}p`]);
    try {
      const dev: Netdev = { name: p.target.name, block: { index: p.target.block!.index, ports: [p.a, p.b, p.u, busy] } };
      await run('tc', ['-batch', '-'], [
        `qdisc add dev ${p.b} clsact`,
        `qdisc add dev ${p.u} ingress`,
        `filter add dev ${p.u} ingress pref 1 protocol all matchall action pass`,
        `qdisc add dev ${busy} clsact`,
        `filter add dev ${busy} egress pref 1 protocol all matchall action pass`,
        '',
      ].join('\n'));
      const cmd = new CmdlineTcDriver(exec, logger, {});
      const dry = new DryRunTcDriver();
      dry.seed(p.b, { qdisc: 'clsact' });
      dry.seed(p.u, { qdisc: 'ingress', foreign: [{ hook: 'ingress', chain: 0, pref: 1, protocol: 'all', kind: 'matchall' }] });
      dry.seed(busy, { qdisc: 'clsact', foreign: [{ hook: 'egress', chain: 0, pref: 1, protocol: 'all', kind: 'matchall' }] });
      const before = await sameAsDryRun(cmd, dry, dev);
      assert.deepEqual(before.ports, [
        { name: p.a, state: 'absent' },
        { name: p.b, state: 'rebindable' },
        { name: p.u, state: 'foreign', detail: 'an ingress qdisc' },
        { name: busy, state: 'foreign', detail: 'clsact carrying 1 filter(s) of others' },
      ]);
      const foreignBefore = await run('tc', ['-j', '-batch', '-'], `qdisc show dev ${p.u}\nfilter show dev ${p.u} ingress\nqdisc show dev ${busy}\nfilter show dev ${busy} egress\n`);
      const plans = await converge(t, cmd, dry, dev, p.program);
      assert.equal(plans.length, 1);
      assert.deepEqual(plans[0]!.ops.filter((op) => op.op === 'bind'), [{ op: 'bind', port: p.a, replace: false }, { op: 'bind', port: p.b, replace: true }]);
      const o = await sameAsDryRun(cmd, dry, dev);
      assert.deepEqual(o.ports?.map((x) => x.state), ['bound', 'bound', 'foreign', 'foreign']);
      assert.equal(o.qdisc, null, 'not every port is bound');
      assert.deepEqual(keys(o.filters), keys(p.program));
      const again = diff(p.program, o);
      assert.deepEqual(again.plan.ops, []);
      assert.match(again.unavailable ?? '', new RegExp(`${p.u}.*${busy}`));
      const foreignAfter = await run('tc', ['-j', '-batch', '-'], `qdisc show dev ${p.u}\nfilter show dev ${p.u} ingress\nqdisc show dev ${busy}\nfilter show dev ${busy} egress\n`);
      assert.equal(foreignAfter, foreignBefore, 'the foreign ports\' qdiscs and filters are exactly as they were');
    } finally {
      await run('ip', ['link', 'del', busy]);
      await p.cleanup();
    }
  });

  test('a port carrying only a per-port program of ours (the node ran --layout per-port) is rebound: its clsact is replaced, the block takes over', async (t) => {
    const p = await freshPorts();
    try {
      const arp = (hook: 'ingress' | 'egress'): TcFilter => ({ hook, chain: 0, pref: 10000, protocol: 'arp', match: {}, actions: [{ kind: 'pass' }] });
      await run('tc', ['-batch', '-'], [`qdisc add dev ${p.b} clsact`, ...(['ingress', 'egress'] as const).map((h) => `filter add dev ${p.b} ${h} chain 0 pref 10000 protocol arp flower action pass`), ''].join('\n'));
      const cmd = new CmdlineTcDriver(exec, logger, {});
      const dry = new DryRunTcDriver();
      dry.seed(p.b, { qdisc: 'clsact', filters: [arp('ingress'), arp('egress')] });
      const perPort = await observe(cmd, { name: p.b });
      assert.deepEqual(perPort.filters.map((f) => f.hook).sort(), ['egress', 'ingress'], 'the per-port program reads as ours');
      const before = await sameAsDryRun(cmd, dry, p.target);
      assert.deepEqual(before.ports?.find((x) => x.name === p.b), { name: p.b, state: 'rebindable' });
      const plans = await converge(t, cmd, dry, p.target, p.program);
      assert.equal(plans.length, 1);
      const o = await sameAsDryRun(cmd, dry, p.target);
      assert.deepEqual(o.ports?.map((x) => x.state), ['bound', 'bound', 'bound']);
      const own = await observe(cmd, { name: p.b });
      assert.deepEqual(own.filters, [], 'nothing of the per-port program is left on its own hooks');
      assert.equal(own.foreign.egress, 0);
    } finally {
      await p.cleanup();
    }
  });

  test('back to per-port: each bound port is released (clsact deleted, re-created where it has a program), in one tc -batch; the kernel drops the block with its last port', async (t) => {
    const p = await freshPorts();
    try {
      const cmd = new CmdlineTcDriver(exec, logger, {});
      const dry = new DryRunTcDriver();
      await converge(t, cmd, dry, p.target, p.program);
      const perPort: TcFilter[] = [{ hook: 'egress', chain: 0, pref: 10000, protocol: 'arp', match: {}, actions: [{ kind: 'pass' }] }];
      const work = [];
      for (const port of [p.a, p.b, p.u]) {
        const o = await observe(cmd, { name: port });
        assert.equal(o.ingressBlock, p.target.block!.index, `${port} reads as bound to the block`);
        const d = diff(port === p.a ? perPort : [], o, { releaseAgentBlocks: true });
        assert.equal(d.unavailable, undefined);
        work.push({ dev: { name: port }, plan: d.plan });
      }
      const rs = await cmd.applyMany(work);
      assert.ok(rs.every((r) => r.ok), JSON.stringify(rs));
      for (const port of [p.a, p.b, p.u]) {
        const o = await observe(cmd, { name: port });
        assert.equal(o.ingressBlock, undefined, `${port} is released`);
        assert.deepEqual(keys(o.filters), port === p.a ? keys(perPort) : []);
        assert.deepEqual(diff(port === p.a ? perPort : [], o, { releaseAgentBlocks: true }).plan.ops, [], `${port}: nothing left to do`);
      }
      const gone = await exec.run('tc', ['-j', 'filter', 'show', 'block', String(p.target.block!.index)]);
      assert.notEqual(gone.exitCode, 0, 'the block no longer exists');
      assert.match(gone.stderr, /Cannot find block/);
    } finally {
      await p.cleanup();
    }
  });

  test('a changed program: new ct zone is replaced in place by handle, a removed pod\'s filters are deleted from the block', async (t) => {
    const p = await freshPorts();
    try {
      const cmd = new CmdlineTcDriver(exec, logger, {});
      const dry = new DryRunTcDriver();
      await converge(t, cmd, dry, p.target, p.program);
      const rezone = (a: TcAction): TcAction => (a.kind === 'ct' ? { ...a, zone: a.zone + 1 } : a);
      const changed = p.program.filter((f) => f.match.dstIp !== '10.1.0.6/32').map((f) => ({ ...f, actions: f.actions.map(rezone) }));
      const plans = await converge(t, cmd, dry, p.target, changed);
      assert.equal(plans.length, 1);
      const ops = new Set(plans[0]!.ops.map((op) => op.op));
      assert.deepEqual([...ops].sort(), ['delete', 'replace']);
      const o = await sameAsDryRun(cmd, dry, p.target);
      assert.deepEqual(keys(o.filters), keys(changed));
    } finally {
      await p.cleanup();
    }
  });

  test('a port that does not exist is an observe error naming it', async () => {
    const p = await freshPorts();
    try {
      const dev: Netdev = { name: p.target.name, block: { index: p.target.block!.index, ports: [p.a, 'kbnosuch0', p.b] } };
      const r = await new CmdlineTcDriver(exec, logger, {}).observe(dev);
      assert.ok(!r.ok && r.error.code === 'hook-unavailable' && /port kbnosuch0 does not exist/.test(r.error.problem), JSON.stringify(r));
    } finally {
      await p.cleanup();
    }
  });
}
