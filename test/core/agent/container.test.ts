// Wiring: every built-in plugin loads into one container and resolves; bad names and bad
// manifests stop startup with a sentence naming the plugin.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ContainerModule } from 'inversify';
import { wire, type Ports } from '../../../core/agent/container.js';
import { checkManifest } from '../../../core/agent/plugin-loader.js';
import { validateConfig } from '../../../core/config.js';
import { configInput } from '../../../core/cli/args.js';
import { describeError } from '../../../core/api/errors.js';
import { CniAdapter } from '../../../core/api/cni-adapter.js';
import { definePlugin } from '../../../core/api/plugin.js';

const ports: Ports = {
  logger: pino({ level: 'silent' }),
  exec: { run: () => Promise.reject(new Error('not in this test')) },
  sysfs: { readFile: async () => undefined, readlink: async () => undefined, readdir: async () => [] },
};

const cfg = (over: Record<string, unknown>) => {
  const c = validateConfig({ ...configInput({}), ...over });
  assert.ok(c.ok, !c.ok ? c.error : '');
  return c.value;
};

for (const driver of ['cmdline', 'dry-run', 'netlink']) {
  test(`all built-in adapters and the ${driver} driver load and resolve from one container`, async () => {
    const w = await wire(cfg({ networkPlugins: ['accelerated-bridge', 'bond', 'sriov'], tcDriver: driver }), ports);
    assert.ok(w.ok, !w.ok ? describeError(w.error) : '');
    assert.deepEqual(w.value.adapters.map((a) => a.name), ['accelerated-bridge', 'bond', 'sriov']);
    assert.equal(w.value.driver.name, driver);
  });
}

test('--network-plugins order is kept and only the named adapters are active', async () => {
  const w = await wire(cfg({ networkPlugins: ['bond'], tcDriver: 'dry-run' }), ports);
  assert.ok(w.ok);
  assert.deepEqual(w.value.adapters.map((a) => a.name), ['bond']);
});

test('an unknown adapter name is refused with the known names', async () => {
  const w = await wire(cfg({ networkPlugins: ['sriov-typo'], tcDriver: 'dry-run' }), ports);
  assert.ok(!w.ok);
  assert.equal(describeError(w.error), 'plugin sriov-typo: unknown --network-plugins value (known: accelerated-bridge, bond, sriov; load others with --plugin)');
});

test('the netlink driver loads and resolves like the others', async () => {
  const w = await wire(cfg({ tcDriver: 'netlink' }), ports);
  assert.ok(w.ok, !w.ok ? describeError(w.error) : '');
  assert.equal(w.value.driver.name, 'netlink');
});

test('a --plugin module provides an adapter that --network-plugins can name', async () => {
  class Fake {
    readonly name = 'fake-cni';
    handles() { return false; }
    attachment() { return { ok: false as const, error: { code: 'config-invalid' as const, problem: 'x' } }; }
    async resolveNetdevs() { return { ok: true as const, value: [] }; }
  }
  const manifest = definePlugin({ meta: { name: 'fake-cni', kind: 'cni-adapter', apiVersion: 1 }, module: () => new ContainerModule(({ bind }) => { bind(CniAdapter).toConstantValue(new Fake()); }) });
  const importer = async (spec: string) => (spec === 'fake-cni-package' ? { default: manifest } : Promise.reject(new Error(`Cannot find package '${spec}'`)));
  const w = await wire(cfg({ networkPlugins: ['fake-cni'], tcDriver: 'dry-run', plugins: ['fake-cni-package'] }), ports, importer);
  assert.ok(w.ok, !w.ok ? describeError(w.error) : '');
  assert.deepEqual(w.value.adapters.map((a) => a.name), ['fake-cni']);
  const missing = await wire(cfg({ tcDriver: 'dry-run', plugins: ['nope-package'] }), ports, importer);
  assert.ok(!missing.ok);
  assert.equal(describeError(missing.error), "plugin nope-package: cannot be imported: Cannot find package 'nope-package'");
});

for (const [label, m, problem] of [
  ['no default export', undefined, /no default export/],
  ['no meta.name', { meta: {}, module: () => null }, /no meta\.name/],
  ['a wrong kind', { meta: { name: 'x', kind: 'widget', apiVersion: 1 }, module: () => null }, /meta\.kind must be/],
  ['a future API version', { meta: { name: 'x', kind: 'tc-driver', apiVersion: 2 }, module: () => null }, /apiVersion 2 is not supported/],
  ['no module()', { meta: { name: 'x', kind: 'tc-driver', apiVersion: 1 } }, /no module\(\) function/],
] as [string, unknown, RegExp][]) {
  test(`a plugin manifest with ${label} is refused`, () => {
    const r = checkManifest('pkg', m);
    assert.ok(!r.ok);
    assert.match(describeError(r.error), problem);
  });
}
