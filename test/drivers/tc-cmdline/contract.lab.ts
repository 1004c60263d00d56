// Kernel-facing: the TcDriver contract and the batch golden against real tc, in the lab VM
// (not part of `npm test`, which needs no VM). Each case gets its own dummy device.
//   /work/shared/lab/run-in-vm.sh --timeout 900 env -u NODE_EXTRA_CA_CERTS \
//     node --import tsx --test test/drivers/tc-cmdline/contract.lab.ts
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { PlanOp } from '../../../core/model/plan.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { ExecaExec } from '../../../drivers/shared/execa-exec.js';
import { CmdlineTcDriver } from '../../../drivers/tc-cmdline/cmdline-driver.js';
import { seedBatchLines, tcDriverContract } from '../../contracts/tc-driver.contract.js';
import { EVERY_KEY_AND_ACTION } from './fixtures/plans.js';

const exec = new ExecaExec();
const logger = pino({ level: 'silent' });
let n = 0;

async function sh(file: string, args: string[], input?: string): Promise<void> {
  const r = await exec.run(file, args, input === undefined ? {} : { input });
  assert.equal(r.exitCode, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
}

async function freshDevice(): Promise<string> {
  const name = `ktc${process.pid % 10000}n${n++}`;
  await sh('ip', ['link', 'add', name, 'type', 'dummy']);
  return name;
}

if (process.env['KLAB_GUEST'] !== '1') {
  test('kernel tests run only in the lab VM (KLAB_GUEST=1)', { skip: true }, () => {});
} else {
  tcDriverContract('cmdline (lab kernel)', async () => {
    const dev = { name: await freshDevice() };
    return {
      driver: new CmdlineTcDriver(exec, logger, {}),
      dev,
      seed: async (s) => sh('tc', ['-batch', '-'], `${seedBatchLines(dev, s).join('\n')}\n`),
      cleanup: async () => sh('ip', ['link', 'del', dev.name]),
    };
  });

  test('the batch golden with every key and action runs in the kernel and reads back as planned', async () => {
    const dev = { name: await freshDevice() };
    const driver = new CmdlineTcDriver(exec, logger, {});
    const ops = EVERY_KEY_AND_ACTION.ops.slice(0, -1); // keep the qdisc to read it back
    const r = await driver.apply(dev, { ops });
    assert.ok(r.ok, JSON.stringify(r));
    const expected = new Map<string, TcFilter>();
    for (const op of ops) {
      if (op.op === 'add') expected.set(`${op.filter.hook}/${op.filter.chain}/${op.filter.pref}/${expected.size}`, op.filter);
    }
    // the replace changed handle 1 of ingress 10000/2 (the add of 10.2.0.0/16), the delete removed egress 10000/2
    const want = [...expected.values()]
      .filter((f) => !(f.hook === 'egress' && f.chain === 10000 && f.pref === 2))
      .map((f) => (f.hook === 'ingress' && f.chain === 10000 && f.pref === 2 ? (ops.find((o) => o.op === 'replace') as { filter: TcFilter }).filter : f));
    const o = await driver.observe(dev);
    assert.ok(o.ok);
    assert.deepEqual(o.value.filters.map(filterKey).sort(), want.map(filterKey).sort());
    await sh('ip', ['link', 'del', dev.name]);
  });

  const arpPass = (pref: number): PlanOp => ({ op: 'add', filter: { hook: 'ingress', chain: 10000, pref, protocol: 'arp', match: {}, actions: [{ kind: 'pass' }] } });

  test('observeMany on real tc: a missing netdev between two others fails alone, the others read as observe() reads them', async () => {
    const [a, b] = [{ name: await freshDevice() }, { name: await freshDevice() }];
    const driver = new CmdlineTcDriver(exec, logger, {});
    assert.ok((await driver.apply(a, { ops: [{ op: 'add-qdisc' }, arpPass(7)] })).ok);
    const rs = await driver.observeMany([a, { name: 'ktcgone0' }, b]);
    assert.deepEqual(rs.map((r) => r.ok), [true, false, true]);
    assert.deepEqual(rs[0], await driver.observe(a));
    assert.deepEqual(rs[2], await driver.observe(b));
    const e = rs[1]!;
    assert.ok(!e.ok && e.error.code === 'tc-exec-failed');
    assert.match(e.error.stderr, /Cannot find device "ktcgone0"/);
    for (const d of [a, b]) await sh('ip', ['link', 'del', d.name]);
  });

  test('applyMany on real tc: a failing line stops its own netdev only; the kernel holds exactly what each result says', async () => {
    const devs = [{ name: await freshDevice() }, { name: await freshDevice() }, { name: await freshDevice() }];
    const driver = new CmdlineTcDriver(exec, logger, {});
    // the second plan adds the same flower key twice in one pref: the kernel refuses the second
    const dup = arpPass(5);
    const rs = await driver.applyMany([
      { dev: devs[0]!, plan: { ops: [{ op: 'add-qdisc' }, arpPass(1)] } },
      { dev: devs[1]!, plan: { ops: [{ op: 'add-qdisc' }, dup, dup, arpPass(6)] } },
      { dev: devs[2]!, plan: { ops: [{ op: 'add-qdisc' }, arpPass(3)] } },
    ]);
    assert.deepEqual(rs.map((r) => r.ok), [true, false, true], JSON.stringify(rs));
    const e = rs[1]!;
    assert.ok(!e.ok && e.error.code === 'tc-batch-failed', JSON.stringify(e));
    assert.equal(e.error.line, 3);
    const prefs = async (d: { name: string }): Promise<number[]> => {
      const o = await driver.observe(d);
      assert.ok(o.ok);
      return o.value.filters.map((f) => f.pref).sort((x, y) => x - y);
    };
    assert.deepEqual(await prefs(devs[0]!), [1]);
    assert.deepEqual(await prefs(devs[1]!), [5]); // the first add stayed, pref 6 was never run
    assert.deepEqual(await prefs(devs[2]!), [3]);
    for (const d of devs) await sh('ip', ['link', 'del', d.name]);
  });
}
