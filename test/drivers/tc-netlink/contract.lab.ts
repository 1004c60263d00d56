// Kernel-facing: the TcDriver contract against the netlink driver and the lab kernel, the
// every-key golden plan, the kernel's own error text, and the undo of a window's later ops.
// Not part of `npm test`; each case gets its own dummy device.
//   /work/shared/lab/run-in-vm.sh --timeout 900 env -u NODE_EXTRA_CA_CERTS \
//     node --import tsx --test test/drivers/tc-netlink/contract.lab.ts
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { describeError } from '../../../core/api/errors.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { ExecaExec } from '../../../drivers/shared/execa-exec.js';
import { CmdlineTcDriver } from '../../../drivers/tc-cmdline/cmdline-driver.js';
import { openFfiNetlinkSocket } from '../../../drivers/tc-netlink/ffi-socket.js';
import { NetlinkTcDriver } from '../../../drivers/tc-netlink/netlink-driver.js';
import { seedBatchLines, tcDriverContract } from '../../contracts/tc-driver.contract.js';
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
