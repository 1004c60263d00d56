// Kernel-facing: the TcDriver contract against the netlink driver and the lab kernel, the
// every-key golden plan, the kernel's own error text, and the undo of a window's later ops;
// then shared-block targets (binds, a compiled block program, refusals), each state also
// read through the cmdline driver.
// Not part of `npm test`; each case gets its own dummy device.
//   /work/shared/lab/run-in-vm.sh --timeout 900 env -u NODE_EXTRA_CA_CERTS \
//     node --import tsx --test test/drivers/tc-netlink/contract.lab.ts
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { describeError } from '../../../core/api/errors.js';
import type { Netdev, SharedBlock } from '../../../core/model/attachment.js';
import type { Plan } from '../../../core/model/plan.js';
import type { ObservedTc, TcAction, TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { diff } from '../../../core/pipeline/diff.js';
import { BLOCK_INDEX_BASE } from '../../../core/pipeline/layout.js';
import { ExecaExec } from '../../../drivers/shared/execa-exec.js';
import { CmdlineTcDriver } from '../../../drivers/tc-cmdline/cmdline-driver.js';
import { openFfiNetlinkSocket } from '../../../drivers/tc-netlink/ffi-socket.js';
import { NetlinkTcDriver } from '../../../drivers/tc-netlink/netlink-driver.js';
import { seedBatchLines, tcDriverContract } from '../../contracts/tc-driver.contract.js';
import { blockProgram } from '../tc-cmdline/fixtures/block-program.js';
import { EVERY_KEY_AND_ACTION } from '../tc-cmdline/fixtures/plans.js';

const exec = new ExecaExec();
const logger = pino({ level: 'silent' });
let n = 0;

async function sh(file: string, args: string[], input?: string): Promise<void> {
  const r = await exec.run(file, args, input === undefined ? {} : { input });
  assert.equal(r.exitCode, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
}

async function freshDevice(): Promise<string> {
  const name = `knl${process.pid % 10000}n${n++}`;
  await sh('ip', ['link', 'add', name, 'type', 'dummy']);
  return name;
}

const netlink = (windowOps?: number) => new NetlinkTcDriver(openFfiNetlinkSocket, logger, windowOps === undefined ? {} : { windowOps });

if (process.env['KLAB_GUEST'] !== '1') {
  test('kernel tests run only in the lab VM (KLAB_GUEST=1)', { skip: true }, () => {});
} else {
  for (const windowOps of [128, 2]) {
    tcDriverContract(`netlink (lab kernel, windows of ${windowOps})`, async () => {
      const dev = { name: await freshDevice() };
      const driver = netlink(windowOps);
      return {
        driver,
        dev,
        seed: async (s) => sh('tc', ['-batch', '-'], `${seedBatchLines(dev, s).join('\n')}\n`),
        cleanup: async () => {
          driver.dispose();
          await sh('ip', ['link', 'del', dev.name]);
        },
      };
    });
  }

  test('the batch golden with every key and action runs through netlink and reads back as planned, the same as cmdline reads it', async () => {
    const dev = { name: await freshDevice() };
    const driver = netlink();
    const ops = EVERY_KEY_AND_ACTION.ops.slice(0, -1); // keep the qdisc to read it back
    const r = await driver.apply(dev, { ops });
    assert.ok(r.ok, JSON.stringify(r));
    const viaNetlink = await driver.observe(dev);
    const viaCmdline = await new CmdlineTcDriver(exec, logger, {}).observe(dev);
    assert.ok(viaNetlink.ok && viaCmdline.ok);
    assert.deepEqual(viaNetlink.value, viaCmdline.value);
    const added = ops.filter((o) => o.op === 'add').map((o) => (o as { filter: TcFilter }).filter);
    const replaced = (ops.find((o) => o.op === 'replace') as { filter: TcFilter }).filter;
    const want = added
      .filter((f) => !(f.hook === 'egress' && f.chain === 10000 && f.pref === 2)) // deleted
      .map((f) => (f.hook === 'ingress' && f.chain === 10000 && f.pref === 2 ? replaced : f));
    assert.deepEqual(viaNetlink.value.filters.map(filterKey).sort(), want.map(filterKey).sort());
    driver.dispose();
    await sh('ip', ['link', 'del', dev.name]);
  });

  test("a filter the kernel rejects fails at its line with the kernel's extended ACK text in the error", async () => {
    const dev = { name: await freshDevice() };
    const driver = netlink();
    const bad: TcFilter = { hook: 'ingress', chain: 10000, pref: 2, protocol: 'ip', match: { ctState: '+trk+new+est' }, actions: [{ kind: 'pass' }] };
    const r = await driver.apply(dev, { ops: [{ op: 'add-qdisc' }, { op: 'add', filter: bad }] });
    assert.ok(!r.ok && r.error.code === 'tc-batch-failed', JSON.stringify(r));
    assert.equal(r.error.line, 2);
    assert.match(r.error.stderr, /new and est are mutually exclusive/);
    assert.match(r.error.stderr, /Invalid argument, errno 22/);
    assert.match(describeError(r.error), /line 2 \(filter add dev \S+ ingress chain 10000 pref 2 protocol ip flower ct_state \+trk\+new\+est action pass\)/);
    const again = await driver.apply(dev, { ops: [{ op: 'add-qdisc' }] });
    assert.ok(!again.ok && again.error.code === 'tc-batch-failed');
    assert.match(again.error.stderr, /Exclusivity flag on, cannot modify \(File exists, errno 17\)/);
    driver.dispose();
    await sh('ip', ['link', 'del', dev.name]);
  });

  test('ops the kernel ran after a failed one in the same window (adds and deletes) are undone; later windows are never sent', async () => {
    const dev = { name: await freshDevice() };
    const driver = netlink();
    const f = (pref: number, dstIp: string): TcFilter => ({ hook: 'ingress', chain: 10000, pref, protocol: 'ip', match: { dstIp }, actions: [{ kind: 'pass' }] });
    const setup = await driver.apply(dev, { ops: [{ op: 'add-qdisc' }, { op: 'add', filter: f(2, '10.0.0.1/32') }, { op: 'add', filter: f(2, '10.0.0.2/32') }] });
    assert.ok(setup.ok);
    const before = await driver.observe(dev);
    assert.ok(before.ok);
    const old = before.value.filters.find((x) => x.match.dstIp === '10.0.0.2/32')!;
    // one window (chain 10000, all adds... then deletes are another phase): make them one phase
    const r = await driver.apply(dev, {
      ops: [
        { op: 'add', filter: f(2, '10.0.0.3/32') },
        { op: 'add', filter: f(2, '10.0.0.1/32') }, // EEXIST
        { op: 'add', filter: f(2, '10.0.0.4/32') }, // ran, undone
        { op: 'add', filter: f(3, '10.0.0.5/32') }, // ran, undone
        { op: 'delete', filter: { ...old, handle: old.handle! } }, // next window (delete phase): never sent
      ],
    });
    assert.ok(!r.ok && r.error.code === 'tc-batch-failed', JSON.stringify(r));
    assert.equal(r.error.line, 2);
    assert.match(r.error.stderr, /2 later op\(s\) of the same netlink batch ran in the kernel; 2 undone/);
    const after = await driver.observe(dev);
    assert.ok(after.ok);
    assert.deepEqual(after.value.filters.map((x) => x.match.dstIp).sort(), ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32']);
    // a window of deletes: the second fails (already gone), the third ran and is re-created with its handle
    const three = after.value.filters.map((x) => ({ ...x, handle: x.handle! })).sort((a, b) => a.handle - b.handle);
    const del = await driver.apply(dev, { ops: [{ op: 'delete', filter: three[0]! }, { op: 'delete', filter: three[0]! }, { op: 'delete', filter: three[1]! }] });
    assert.ok(!del.ok && del.error.code === 'tc-batch-failed' && del.error.line === 2, JSON.stringify(del));
    const last = await driver.observe(dev);
    assert.ok(last.ok);
    assert.deepEqual(last.value.filters.map((x) => `${x.match.dstIp}#${x.handle}`).sort(), [three[1]!, three[2]!].map((x) => `${x.match.dstIp}#${x.handle}`).sort());
    driver.dispose();
    await sh('ip', ['link', 'del', dev.name]);
  });

  test('a device that does not exist is a netlink-failed error naming it', async () => {
    const driver = netlink();
    const r = await driver.observe({ name: 'nonexistent0' });
    assert.ok(!r.ok && r.error.code === 'netlink-failed', JSON.stringify(r));
    assert.match(describeError(r.error), /netlink RTM_GETLINK on nonexistent0 failed \(errno 19\): no such device/);
    driver.dispose();
  });
}

// ---- shared blocks: the netlink driver against the kernel, read back by the cmdline driver too

interface BlockPorts {
  readonly a: string;
  readonly b: string;
  readonly u: string;
  readonly dev: Netdev & { readonly block: SharedBlock };
  readonly program: TcFilter[];
  cleanup(): Promise<void>;
}

/** Three dummy ports (pod A, pod B, uplink stand-in) of a block of their own, with its compiled program. */
async function freshBlock(extra: readonly string[] = []): Promise<BlockPorts> {
  const [a, b, u] = [await freshDevice(), await freshDevice(), await freshDevice()];
  const index = BLOCK_INDEX_BASE + 0x200 + n;
  return {
    a,
    b,
    u,
    dev: { name: `block:${index}`, block: { index, ports: [a, b, u, ...extra] } },
    program: blockProgram({ a, b }),
    cleanup: async () => {
      for (const p of [a, b, u]) await sh('ip', ['link', 'del', p]);
    },
  };
}

/** observe → diff → apply through netlink until diff is empty; the plans applied. */
async function converge(driver: NetlinkTcDriver, dev: Netdev, desired: readonly TcFilter[]): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const o = await driver.observe(dev);
    assert.ok(o.ok, JSON.stringify(o));
    const { plan } = diff(desired, o.value);
    if (plan.ops.length === 0) return plans;
    const r = await driver.apply(dev, plan);
    assert.ok(r.ok, JSON.stringify(r));
    plans.push(plan);
  }
  assert.fail('netlink did not converge in 3 passes');
}

/** What netlink reads of a block, after checking that the cmdline driver reads exactly the same. */
async function observedBoth(driver: NetlinkTcDriver, dev: Netdev): Promise<ObservedTc> {
  const viaNetlink = await driver.observe(dev);
  const viaCmdline = await new CmdlineTcDriver(exec, logger, {}).observe(dev);
  assert.ok(viaNetlink.ok && viaCmdline.ok, JSON.stringify([viaNetlink, viaCmdline]));
  assert.deepEqual(viaNetlink.value, viaCmdline.value, 'netlink reads the block as the cmdline driver does');
  return viaNetlink.value;
}

const blockKeys = (fs: readonly TcFilter[]): string[] => fs.map(filterKey).sort();

if (process.env['KLAB_GUEST'] === '1') {
  for (const windowOps of [128, 2]) {
    test(`block (windows of ${windowOps}): netlink binds the absent and rebindable ports, leaves the foreign ones untouched, installs the compiled block program in one pass; both drivers read it back as planned`, async () => {
      const busy = await freshDevice();
      const p = await freshBlock([busy]);
      const driver = netlink(windowOps);
      await sh('tc', ['-batch', '-'], [`qdisc add dev ${p.b} clsact`, `qdisc add dev ${p.u} ingress`, `qdisc add dev ${busy} clsact`, `filter add dev ${busy} egress pref 1 protocol all matchall action pass`, ''].join('\n'));
      const before = await observedBoth(driver, p.dev);
      assert.deepEqual(before.ports, [
        { name: p.a, state: 'absent' },
        { name: p.b, state: 'rebindable' },
        { name: p.u, state: 'foreign', detail: 'an ingress qdisc' },
        { name: busy, state: 'foreign', detail: 'clsact carrying 1 filter(s) of others' },
      ]);
      const plans = await converge(driver, p.dev, p.program);
      assert.equal(plans.length, 1);
      assert.deepEqual(plans[0]!.ops.filter((o) => o.op === 'bind'), [{ op: 'bind', port: p.a, replace: false }, { op: 'bind', port: p.b, replace: true }]);
      const o = await observedBoth(driver, p.dev);
      assert.deepEqual(o.ports!.map((x) => x.state), ['bound', 'bound', 'foreign', 'foreign']);
      assert.equal(o.qdisc, null, 'not every port is bound');
      assert.deepEqual(blockKeys(o.filters), blockKeys(p.program));
      assert.ok(o.filters.some((f) => f.match.indev === p.a), 'indev reads back');
      assert.deepEqual(diff(p.program, o).plan.ops, []);
      const q = JSON.parse((await exec.run('tc', ['-j', 'qdisc', 'show', 'dev', p.b])).stdout) as { kind: string; ingress_block?: number }[];
      assert.ok(q.some((x) => x.kind === 'clsact' && x.ingress_block === p.dev.block.index), 'the rebindable port is bound now');
      driver.dispose();
      await sh('ip', ['link', 'del', busy]);
      await p.cleanup();
    });
  }

  test('block: a changed program (another ct zone, a pod gone) is replaced by handle and deleted through the block; removing it leaves the ports bound and the block empty', async () => {
    const p = await freshBlock();
    const driver = netlink(4);
    await converge(driver, p.dev, p.program);
    const rezone = (a: TcAction): TcAction => (a.kind === 'ct' ? { ...a, zone: a.zone + 1 } : a);
    const changed = p.program.filter((f) => f.match.dstIp !== '10.1.0.6/32').map((f) => ({ ...f, actions: f.actions.map(rezone) }));
    const plans = await converge(driver, p.dev, changed);
    assert.equal(plans.length, 1);
    assert.deepEqual([...new Set(plans[0]!.ops.map((o) => o.op))].sort(), ['delete', 'replace']);
    assert.deepEqual(blockKeys((await observedBoth(driver, p.dev)).filters), blockKeys(changed));
    await converge(driver, p.dev, []);
    const empty = await observedBoth(driver, p.dev);
    assert.deepEqual(empty, { qdisc: 'clsact', filters: [], foreign: { ingress: 0, egress: 0 }, ports: [p.a, p.b, p.u].map((name) => ({ name, state: 'bound' })) });
    driver.dispose();
    await p.cleanup();
  });

  test("block: a filter the kernel refuses (indev of a device that does not exist) fails at its line with the kernel's text; the later ops of its window are undone in the block", async () => {
    const p = await freshBlock();
    const driver = netlink();
    await converge(driver, p.dev, p.program.filter((f) => f.chain === 0 && f.protocol === 'arp'));
    const f = (pref: number, indev: string, dstIp: string): TcFilter => ({ hook: 'ingress', chain: 10000, pref, protocol: 'ip', match: { indev, dstIp }, actions: [{ kind: 'pass' }] });
    const r = await driver.apply(p.dev, { ops: [{ op: 'add', filter: f(2, p.a, '10.0.0.1/32') }, { op: 'add', filter: f(2, 'knlnosuch0', '10.0.0.2/32') }, { op: 'add', filter: f(2, p.b, '10.0.0.3/32') }, { op: 'add', filter: f(3, p.a, '10.0.0.4/32') }] });
    assert.ok(!r.ok && r.error.code === 'tc-batch-failed', JSON.stringify(r));
    assert.equal(r.error.line, 2);
    assert.equal(r.error.text, `filter add block ${p.dev.block.index} chain 10000 pref 2 protocol ip flower indev knlnosuch0 dst_ip 10.0.0.2/32 action pass`);
    assert.equal(r.error.stderr, 'Network device not found (No such device, errno 19)\n2 later op(s) of the same netlink batch ran in the kernel; 2 undone');
    const o = await observedBoth(driver, p.dev);
    assert.deepEqual(o.filters.filter((x) => x.chain === 10000).map((x) => x.match.dstIp), ['10.0.0.1/32']);
    driver.dispose();
    await p.cleanup();
  });

  test('block: a bind the kernel refuses fails at its line; a port that does not exist is an error naming it; qdisc ops are refused before anything is sent', async () => {
    const p = await freshBlock();
    const driver = netlink();
    await sh('tc', ['qdisc', 'add', 'dev', p.u, 'ingress']);
    const r = await driver.apply(p.dev, { ops: [{ op: 'bind', port: p.a, replace: false }, { op: 'bind', port: p.u, replace: false }] });
    assert.ok(!r.ok && r.error.code === 'tc-batch-failed' && r.error.line === 2, JSON.stringify(r));
    assert.equal(r.error.text, `qdisc add dev ${p.u} ingress_block ${p.dev.block.index} clsact`);
    assert.match(r.error.stderr, /Exclusivity flag on, cannot modify \(File exists, errno 17\)/);
    const missing = { ...p.dev, block: { ...p.dev.block, ports: [p.a, 'knlnosuch1'] } };
    const o = await driver.observe(missing);
    assert.ok(!o.ok && o.error.code === 'netlink-failed', JSON.stringify(o));
    assert.match(describeError(o.error), new RegExp(`RTM_GETLINK on knlnosuch1 failed \\(errno 19\\): no such device .*; it is a port of block:${p.dev.block.index}`));
    const q = await driver.apply(p.dev, { ops: [{ op: 'add-qdisc' }] });
    assert.ok(!q.ok && q.error.code === 'hook-unavailable');
    driver.dispose();
    await p.cleanup();
  });
}
