import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { Container } from 'inversify';
import { pino } from 'pino';
import { CniAdapter } from '../../core/api/cni-adapter.js';
import { Logger, Sysfs } from '../../core/api/ports.js';
import accelerated from '../../plugins/accelerated-bridge/index.js';
import bond from '../../plugins/bond/index.js';
import { NodeSysfs } from '../../plugins/sysfs/node-sysfs.js';

describe('adapter manifests', () => {
  for (const m of [accelerated, bond]) {
    test(`${m.meta.name}: the options schema compiles in strict ajv, accepts verifyRepresentor and nothing else`, () => {
      const validate = new Ajv({ strict: true }).compile(m.optionsSchema ?? {});
      assert.equal(validate({}), true);
      assert.equal(validate({ verifyRepresentor: false }), true);
      assert.equal(validate({ verifyRepresentor: 'no' }), false);
      assert.equal(validate({ verifyRepresentr: false }), false);
    });
  }

  test('both adapters load into one container, each with its own options, and resolve as two CniAdapters', () => {
    const c = new Container();
    c.bind(Sysfs).toConstantValue(new NodeSysfs('/nonexistent'));
    c.bind(Logger).toConstantValue(pino({ level: 'silent' }));
    c.load(accelerated.module({ verifyRepresentor: false }), bond.module({}));
    assert.deepEqual(c.getAll<CniAdapter>(CniAdapter).map((a) => a.name).sort(), ['accelerated-bridge', 'bond']);
  });

  test('the options reach the adapter: verifyRepresentor false skips the sysfs check', async () => {
    const c = new Container();
    c.bind(Sysfs).toConstantValue(new NodeSysfs('/nonexistent'));
    c.bind(Logger).toConstantValue(pino({ level: 'silent' }));
    c.load(accelerated.module({ verifyRepresentor: false }));
    const a = c.get<CniAdapter>(CniAdapter);
    const att = { adapter: a.name, network: 'default/n', interface: 'net1', ips: [], deviceInfo: { type: 'pci', pci: { 'representor-device': 'eth3' } } };
    assert.deepEqual(await a.resolveNetdevs(att), { ok: true, value: [{ name: 'eth3' }] });
  });
});
