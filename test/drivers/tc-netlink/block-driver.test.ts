// The netlink driver on shared-block targets (`dev.block`), against the fake rtnetlink socket
// (fake-kernel-socket.ts, with the lab kernel's block rules): how ports are read and bound,
// how the block's filters are addressed, and the errors. The kernel-facing twins are in
// contract.lab.ts and cross-driver.lab.ts.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { describeError } from '../../../core/api/errors.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { diff } from '../../../core/pipeline/diff.js';
import { DEFAULT_NODE_OPTIONS, programNode } from '../../../core/pipeline/program-node.js';
import { loadManifests } from '../../../core/source/manifest-files.js';
import { NLM_F, RTM, TCM_IFINDEX_MAGIC_BLOCK } from '../../../drivers/tc-netlink/constants.js';
import { splitMessages } from '../../../drivers/tc-netlink/message.js';
import { NetlinkTcDriver } from '../../../drivers/tc-netlink/netlink-driver.js';
import { acceleratedBridge, bond } from '../../fixtures/cluster-builder.js';
import { standInSwitches } from '../../fixtures/stand-in-switches.js';
import { FakeKernel, FakeKernelSocket } from './fake-kernel-socket.js';

const logger = pino({ level: 'silent' });
const BLOCK = 77;

function setup(ports: readonly string[], windowOps = 128) {
  const kernel = new FakeKernel();
  kernel.addDevice('lo');
  for (const p of ports) kernel.addDevice(p);
  const sockets: FakeKernelSocket[] = [];
  const driver = new NetlinkTcDriver(
    () => {
      const s = new FakeKernelSocket(kernel);
      sockets.push(s);
      return { ok: true, value: s };
    },
    logger,
    { windowOps },
  );
  const dev = { name: `block:${BLOCK}`, block: { index: BLOCK, ports } };
  return { kernel, sockets, driver, dev };
}

const f = (chain: number, pref: number, match: TcFilter['match'], actions: TcFilter['actions'] = [{ kind: 'pass' }]): TcFilter => ({ hook: 'ingress', chain, pref, protocol: 'ip', match, actions });
const flower = (x: TcFilter) => ({ hook: x.hook, chain: x.chain, pref: x.pref, protocol: x.protocol, kind: 'flower', flower: x });
/** Each datagram sent, as `type[+ack]` per message. */
const shapes = (s: FakeKernelSocket): string[] => s.sent.map((d) => splitMessages(d).map((m) => `${m.type}${(m.flags & NLM_F.ACK) !== 0 ? '+ack' : ''}`).join(' '));

test('observe: every port state from the qdisc dump (and an unbound clsact’s filters), the block’s owned and foreign filters, clsact only once every port is bound', async () => {
  const ports = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];
  const { kernel, driver, dev } = setup(ports);
  kernel.bind('p1', BLOCK);
  kernel.bind('p2', BLOCK);
  kernel.seed('p3', 'clsact', []);
  kernel.seed('p4', 'clsact', [{ hook: 'egress', chain: 0, pref: 5, protocol: 'all', kind: 'matchall' }]);
  kernel.seed('p5', 'ingress', []);
  kernel.bind('p6', 9);
  const owned = f(10000, 2, { indev: 'p1', ctState: '+trk+new', dstIp: '10.0.0.0/24' }, [{ kind: 'goto', chain: 10001 }]);
  kernel.seedBlock(BLOCK, [flower(owned), { hook: 'ingress', chain: 0, pref: 100, protocol: 'all', kind: 'matchall' }, flower(f(7, 1, { indev: 'p2' }))]);
  const o = await driver.observe(dev);
  assert.ok(o.ok, JSON.stringify(o));
  assert.deepEqual(o.value, {
    qdisc: null,
    filters: [{ ...owned, handle: 1 }],
    foreign: { ingress: 2, egress: 0 },
    ports: [
      { name: 'p1', state: 'bound' },
      { name: 'p2', state: 'bound' },
      { name: 'p3', state: 'rebindable' },
      { name: 'p4', state: 'foreign', detail: 'clsact carrying 1 filter(s) of others' },
      { name: 'p5', state: 'foreign', detail: 'an ingress qdisc' },
      { name: 'p6', state: 'foreign', detail: 'clsact with ingress_block 9' },
      { name: 'p7', state: 'absent' },
    ],
  });
  const all = setup(['p1']);
  all.kernel.bind('p1', BLOCK);
  assert.deepEqual(await all.driver.observe(all.dev), { ok: true, value: { qdisc: 'clsact', filters: [], foreign: { ingress: 0, egress: 0 }, ports: [{ name: 'p1', state: 'bound' }] } });
});

test('observe sends: a GETLINK per port, one qdisc dump, both hooks of an unbound clsact only, then one dump of the block by index', async () => {
  const { kernel, driver, dev, sockets } = setup(['p1', 'p2', 'p3']);
  kernel.bind('p1', BLOCK);
  kernel.seed('p2', 'clsact', []);
  assert.ok((await driver.observe(dev)).ok);
  const sent = sockets[0]!.sent.map((d) => splitMessages(d)[0]!);
  assert.deepEqual(sent.map((m) => m.type), [RTM.GETLINK, RTM.GETLINK, RTM.GETLINK, RTM.GETQDISC, RTM.GETTFILTER, RTM.GETTFILTER, RTM.GETTFILTER]);
  const last = sent[sent.length - 1]!;
  assert.deepEqual([last.payload.readUInt32LE(4), last.payload.readUInt32LE(12)], [TCM_IFINDEX_MAGIC_BLOCK, BLOCK]);
});

test('a compiled block program installs from scratch: binds first (a replacing one deletes the empty clsact), then the filters by block index; it reads back as planned and diffs to nothing', async () => {
  const { cluster, errors } = await loadManifests([new URL('../../../examples/cluster', import.meta.url).pathname]);
  assert.deepEqual(errors, []);
  const np = programNode(cluster, 'worker-1', [acceleratedBridge, bond], DEFAULT_NODE_OPTIONS);
  const [sw] = await standInSwitches(np, { stateful: true, ctZoneBase: 0 });
  const program = sw!.compiled.filters;
  assert.ok(program.some((x) => x.match.indev !== undefined), 'the program keys pod ports by indev');
  const ports = sw!.block.ports;
  const { kernel, driver, sockets } = setup(ports, 16);
  const dev = { name: `block:${sw!.block.index}`, block: sw!.block };
  kernel.seed(ports[1]!, 'clsact', []); // rebindable
  const before = await driver.observe(dev);
  assert.ok(before.ok);
  const { plan } = diff(program, before.value);
  assert.deepEqual(plan.ops.slice(0, ports.length).map((o) => (o.op === 'bind' ? `${o.port}${o.replace ? '+replace' : ''}` : o.op)), ports.map((p, i) => (i === 1 ? `${p}+replace` : p)));
  sockets[0]!.sent.length = 0;
  const r = await driver.apply(dev, plan);
  assert.ok(r.ok, JSON.stringify(r));
  const sent = shapes(sockets[0]!);
  // each bind: the port's GETLINK, then its own window; the replacing one deletes first
  assert.deepEqual(sent.slice(0, 5), [`${RTM.GETLINK}`, `${RTM.NEWQDISC}+ack`, `${RTM.GETLINK}`, `${RTM.DELQDISC}+ack`, `${RTM.NEWQDISC}+ack`]);
  assert.ok(sent.slice(2 * ports.length + 1).every((d) => d.split(' ').every((m) => m.startsWith(`${RTM.NEWTFILTER}`))), 'then only filter windows');
  const after = await driver.observe(dev);
  assert.ok(after.ok);
  assert.equal(after.value.qdisc, 'clsact');
  assert.deepEqual(after.value.ports!.map((p) => p.state), ports.map(() => 'bound'));
  assert.deepEqual(after.value.filters.map(filterKey).sort(), program.map(filterKey).sort());
  assert.deepEqual(diff(program, after.value).plan.ops, []);
  assert.equal(kernel.blockState(sw!.block.index).filters.length, program.length);
  // and away again: deletes by handle through the block, the ports stay bound
  const removal = diff([], after.value).plan;
  assert.ok(removal.ops.every((o) => o.op === 'delete'));
  assert.ok((await driver.apply(dev, removal)).ok);
  const empty = await driver.observe(dev);
  assert.deepEqual(empty.ok && [empty.value.filters, empty.value.qdisc], [[], 'clsact']);
});

test('a block target refuses add-qdisc and delete-qdisc (hook-unavailable) and a netdev refuses a bind, before anything is sent', async () => {
  const { driver, dev, sockets } = setup(['p1']);
  for (const op of ['add-qdisc', 'delete-qdisc'] as const) {
    const r = await driver.apply(dev, { ops: [{ op: 'bind', port: 'p1', replace: false }, { op }] });
    assert.ok(!r.ok && r.error.code === 'hook-unavailable', JSON.stringify(r));
    assert.equal(describeError(r.error), `cannot program block:${BLOCK}: op 2 (${op}): a shared block has no qdisc of its own; its ports are bound with 'bind'`);
  }
  const n = await driver.apply({ name: 'p1' }, { ops: [{ op: 'bind', port: 'p1', replace: false }] });
  assert.ok(!n.ok && n.error.code === 'hook-unavailable');
  assert.equal(sockets.length, 0);
});

test('a port that does not exist: observe and a bind fail with netlink-failed naming the port and its block', async () => {
  const { driver, dev, kernel } = setup(['p1']);
  const missing = { ...dev, block: { index: BLOCK, ports: ['p1', 'gone7'] } };
  const o = await driver.observe(missing);
  assert.ok(!o.ok);
  assert.equal(describeError(o.error), `netlink RTM_GETLINK on gone7 failed (errno 19): no such device (No such device, errno 19); it is a port of block:${BLOCK}`);
  const a = await driver.apply(missing, { ops: [{ op: 'bind', port: 'p1', replace: false }, { op: 'bind', port: 'gone7', replace: false }, { op: 'add', filter: f(10000, 2, {}) }] });
  assert.ok(!a.ok && a.error.code === 'netlink-failed' && a.error.netdev === 'gone7', JSON.stringify(a));
  assert.equal(kernel.blockState(BLOCK).filters.length, 0, 'nothing after the failed bind ran');
});

test('a bind the kernel refuses (the port got a qdisc meanwhile) fails at its line with the block syntax and the kernel text', async () => {
  const { driver, dev, kernel } = setup(['p1', 'p2']);
  kernel.bind('p1', BLOCK);
  kernel.seed('p2', 'ingress', []);
  const r = await driver.apply(dev, { ops: [{ op: 'bind', port: 'p2', replace: false }] });
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed');
  assert.equal(r.error.text, `qdisc add dev p2 ingress_block ${BLOCK} clsact`);
  assert.equal(r.error.stderr, 'Exclusivity flag on, cannot modify (File exists, errno 17)');
  const rep = await driver.apply(dev, { ops: [{ op: 'bind', port: 'p2', replace: true }] });
  assert.ok(!rep.ok && rep.error.code === 'tc-batch-failed');
  assert.equal(rep.error.text, `qdisc del dev p2 clsact; qdisc add dev p2 ingress_block ${BLOCK} clsact`);
  assert.match(rep.error.stderr, /^deleting the clsact of p2 before binding it: Invalid qdisc name/);
});

test('a refused block filter (indev of a device that does not exist) fails at its line; the later ops of its window are undone through the block', async () => {
  const { driver, dev, kernel } = setup(['p1']);
  kernel.bind('p1', BLOCK);
  const r = await driver.apply(dev, {
    ops: [
      { op: 'add', filter: f(10000, 2, { indev: 'p1', dstIp: '10.0.0.1/32' }) },
      { op: 'add', filter: f(10000, 2, { indev: 'nosuch0', dstIp: '10.0.0.2/32' }) },
      { op: 'add', filter: f(10000, 2, { indev: 'p1', dstIp: '10.0.0.3/32' }) },
      { op: 'add', filter: f(10000, 3, { indev: 'p1', dstIp: '10.0.0.4/32' }) },
    ],
  });
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed', JSON.stringify(r));
  assert.equal(r.error.line, 2);
  assert.equal(r.error.text, `filter add block ${BLOCK} chain 10000 pref 2 protocol ip flower indev nosuch0 dst_ip 10.0.0.2/32 action pass`);
  assert.equal(r.error.stderr, 'Network device not found (No such device, errno 19)\n2 later op(s) of the same netlink batch ran in the kernel; 2 undone');
  assert.deepEqual(kernel.blockState(BLOCK).filters.map((k) => k.flower!.match.dstIp), ['10.0.0.1/32']);
});

test('a replace and a delete by handle address the block', async () => {
  const { driver, dev, kernel } = setup(['p1']);
  kernel.bind('p1', BLOCK);
  const x = f(10000, 2, { indev: 'p1', dstIp: '10.0.0.1/32' });
  kernel.seedBlock(BLOCK, [flower(x), flower(f(10000, 2, { indev: 'p1', dstIp: '10.0.0.2/32' }))]);
  const r = await driver.apply(dev, { ops: [{ op: 'replace', filter: { ...x, actions: [{ kind: 'drop' }], handle: 1 } }, { op: 'delete', filter: { ...x, match: { indev: 'p1', dstIp: '10.0.0.2/32' }, handle: 2 } }] });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(kernel.blockState(BLOCK).filters.map((k) => [k.handle, k.flower!.actions]), [[1, [{ kind: 'drop' }]]]);
});

test('observe of a bound port as a netdev: the block\'s filters are foreign there, never the netdev\'s (an adopted representor after a restart deletes nothing)', async () => {
  const { kernel, driver } = setup(['p1']);
  kernel.bind('p1', BLOCK);
  const owned = f(10000, 2, { indev: 'p1', ctState: '+trk+new', dstIp: '10.0.0.0/24' }, [{ kind: 'goto', chain: 10001 }]);
  kernel.seedBlock(BLOCK, [flower(owned)]);
  const o = await driver.observe({ name: 'p1' });
  assert.ok(o.ok, JSON.stringify(o));
  assert.deepEqual(o.value.filters, []);
  assert.equal(o.value.foreign.ingress, 1);
  assert.deepEqual(diff([], o.value).plan.ops, []);
});
