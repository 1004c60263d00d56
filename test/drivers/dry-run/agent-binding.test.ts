// The dry-run driver as the agent gets it (its plugin's ContainerModule) keeps no history of
// plans: nothing in the agent reads one, and at scale it held every plan and its tc lines.
// Constructed directly (the tests' way) it still records every apply.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Container } from 'inversify';
import { Logger } from '../../../core/api/ports.js';
import { TcDriver } from '../../../core/api/tc-driver.js';
import type { Plan } from '../../../core/model/plan.js';
import dryRun from '../../../drivers/dry-run/index.js';
import { DryRunTcDriver } from '../../../drivers/dry-run/dry-run-driver.js';
import { silentLogger } from '../fakes.js';
import { goldenBatch, lineToOp } from '../tc-cmdline/fixtures/tc-line.js';

const rep1 = { name: 'rep1' };
const plan: Plan = { ops: goldenBatch('layout-program.txt').map(lineToOp) };

function agentDriver(): DryRunTcDriver {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind(Logger).toConstantValue(silentLogger());
  c.load(dryRun.module(undefined));
  const d = c.get<TcDriver>(TcDriver);
  assert.ok(d instanceof DryRunTcDriver);
  return d;
}

test("the agent's dry-run driver applies plans but records none of them", async () => {
  const d = agentDriver();
  assert.equal(d.recording, false);
  assert.ok((await d.apply(rep1, plan)).ok);
  const failed = await d.apply({ name: 'rep2' }, { ops: [{ op: 'delete-qdisc' }] });
  assert.equal(failed.ok, false, 'a refused plan is still refused');
  assert.deepEqual(d.history, []);
  const o = await d.observe(rep1);
  assert.ok(o.ok);
  assert.equal(o.value.qdisc, 'clsact');
  assert.equal(o.value.filters.length, plan.ops.filter((op) => op.op === 'add').length, 'the in-memory host holds what was applied');
});

test('a dry-run driver constructed directly records every apply, and stops when told', async () => {
  const d = new DryRunTcDriver();
  assert.equal(d.recording, true);
  await d.apply(rep1, plan);
  d.recording = false;
  await d.apply(rep1, { ops: [{ op: 'delete-qdisc' }] });
  assert.deepEqual(d.history.map((h) => [h.netdev, h.result.ok]), [['rep1', true]]);
});
