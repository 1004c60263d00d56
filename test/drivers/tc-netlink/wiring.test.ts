// `--tc-driver netlink` loads the built-in plugin and resolves its driver (no kernel needed:
// the socket opens on first use).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { wire, type Ports } from '../../../core/agent/container.js';
import { checkOptions, importPlugin } from '../../../core/agent/plugin-loader.js';
import { describeError } from '../../../core/api/errors.js';
import { configInput } from '../../../core/cli/args.js';
import { validateConfig } from '../../../core/config.js';
import { NetlinkTcDriver } from '../../../drivers/tc-netlink/netlink-driver.js';

const ports: Ports = {
  logger: pino({ level: 'silent' }),
  exec: { run: () => Promise.reject(new Error('the netlink driver never runs a program')) },
  sysfs: { readFile: async () => undefined, readlink: async () => undefined, readdir: async () => [] },
};

test('--tc-driver netlink wires the netlink driver from the built-in plugin', async () => {
  const c = validateConfig({ ...configInput({}), tcDriver: 'netlink' });
  assert.ok(c.ok, !c.ok ? c.error : '');
  const w = await wire(c.value, ports);
  assert.ok(w.ok, !w.ok ? describeError(w.error) : '');
  assert.equal(w.value.driver.name, 'netlink');
  assert.ok(w.value.driver instanceof NetlinkTcDriver);
  // unbinding the container closes the socket (there is none yet: nothing to close, no throw)
  await w.value.container.unbindAll();
});

test('the manifest is a tc-driver named netlink whose options schema bounds the window size', async () => {
  const m = await importPlugin('netlink', () => Promise.reject(new Error('built-in')));
  assert.ok(m.ok);
  assert.deepEqual(m.value.meta, { name: 'netlink', kind: 'tc-driver', apiVersion: 1 });
  assert.ok(checkOptions(m.value, { windowOps: 64, receiveTimeoutMs: 2000 }).ok);
  const bad = checkOptions(m.value, { windowOps: 0 });
  assert.ok(!bad.ok);
  assert.match(describeError(bad.error), /plugin netlink: options\/windowOps must be >= 1/);
});
