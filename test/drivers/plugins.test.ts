// The two driver manifests load like any plugin and bind the shared TcDriver token.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Container } from 'inversify';
import { checkManifest, checkOptions } from '../../core/agent/plugin-loader.js';
import { Exec, Logger } from '../../core/api/ports.js';
import { TcDriver } from '../../core/api/tc-driver.js';
import dryRun from '../../drivers/dry-run/index.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { CmdlineTcDriver } from '../../drivers/tc-cmdline/cmdline-driver.js';
import cmdline from '../../drivers/tc-cmdline/index.js';
import { FakeExec, silentLogger } from './fakes.js';

function container(): Container {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind(Logger).toConstantValue(silentLogger());
  c.bind(Exec).toConstantValue(new FakeExec());
  return c;
}

test('the cmdline manifest is a valid tc-driver plugin whose module binds TcDriver to CmdlineTcDriver', () => {
  assert.ok(checkManifest('cmdline', cmdline).ok);
  assert.deepEqual(cmdline.meta, { name: 'cmdline', kind: 'tc-driver', apiVersion: 1 });
  const c = container();
  const options = checkOptions(cmdline, { tc: '/usr/sbin/tc' });
  assert.ok(options.ok);
  c.load(cmdline.module(options.value as never));
  const d = c.get<TcDriver>(TcDriver);
  assert.ok(d instanceof CmdlineTcDriver);
  assert.equal(d.name, 'cmdline');
  assert.equal(c.get(TcDriver), d, 'singleton');
});

test('cmdline options reject unknown keys and bad values', () => {
  assert.ok(!checkOptions(cmdline, { tcPath: 'tc' }).ok);
  assert.ok(!checkOptions(cmdline, { timeoutMs: 5 }).ok);
  assert.ok(checkOptions(cmdline, {}).ok);
});

test('the dry-run manifest is a valid tc-driver plugin whose module binds TcDriver to DryRunTcDriver', () => {
  assert.ok(checkManifest('dry-run', dryRun).ok);
  assert.deepEqual(dryRun.meta, { name: 'dry-run', kind: 'tc-driver', apiVersion: 1 });
  const c = container();
  c.load(dryRun.module(undefined));
  const d = c.get<TcDriver>(TcDriver);
  assert.ok(d instanceof DryRunTcDriver);
  assert.equal(d.name, 'dry-run');
});
