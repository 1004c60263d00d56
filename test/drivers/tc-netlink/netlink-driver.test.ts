// The netlink driver's own behaviour, on a fake rtnetlink socket (fake-kernel-socket.ts):
// one socket kept across calls and reset after a transport failure, windows with one ACK
// each, stop-at-first-failure with the later ops of the window undone, and the errors
// callers see. The kernel-facing twin is contract.lab.ts.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { describeError } from '../../../core/api/errors.js';
import type { Plan } from '../../../core/model/plan.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { diff } from '../../../core/pipeline/diff.js';
import { NLM_F, RTM } from '../../../drivers/tc-netlink/constants.js';
import { splitMessages } from '../../../drivers/tc-netlink/message.js';
import { NetlinkTcDriver } from '../../../drivers/tc-netlink/netlink-driver.js';
import type { NetlinkSocketFactory } from '../../../drivers/tc-netlink/socket.js';
import { CONTRACT_PROGRAM } from '../../contracts/tc-driver.contract.js';
import { FakeKernel, FakeKernelSocket } from './fake-kernel-socket.js';

const logger = pino({ level: 'silent' });
const dev = { name: 'rep1' };

function setup(windowOps = 128) {
  const kernel = new FakeKernel();
  kernel.addDevice('lo');
  kernel.addDevice(dev.name);
  const sockets: FakeKernelSocket[] = [];
  const factory: NetlinkSocketFactory = () => {
    const s = new FakeKernelSocket(kernel);
    sockets.push(s);
    return { ok: true, value: s };
  };
  return { kernel, sockets, driver: new NetlinkTcDriver(factory, logger, { windowOps }) };
}

const f = (chain: number, pref: number, dstIp: string, actions: TcFilter['actions'] = [{ kind: 'pass' }]): TcFilter => ({ hook: 'ingress', chain, pref, protocol: 'ip', match: { dstIp }, actions });

/** The requests of every datagram sent, as `type:ACK?` per message. */
const sentShape = (s: FakeKernelSocket): string[] => s.sent.map((d) => splitMessages(d).map((m) => `${m.type}${(m.flags & NLM_F.ACK) !== 0 ? '+ack' : ''}`).join(' '));

test('one socket serves every observe and apply; dispose closes it and the next call opens another', async () => {
  const { driver, sockets } = setup();
  await driver.observe(dev);
  await driver.apply(dev, { ops: [{ op: 'add-qdisc' }] });
  await driver.observe(dev);
  assert.equal(sockets.length, 1);
  driver.dispose();
  assert.ok(sockets[0]!.closed);
  await driver.observe(dev);
  assert.equal(sockets.length, 2);
});

test('a plan goes out as one datagram per window, each asking for one ACK, on its last op', async () => {
  const { driver, sockets } = setup();
  assert.ok((await driver.observe(dev)).ok);
  const plan = diff(CONTRACT_PROGRAM, { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } }).plan;
  sockets[0]!.sent.length = 0;
  const r = await driver.apply(dev, plan);
  assert.ok(r.ok);
  const shapes = sentShape(sockets[0]!);
  assert.equal(shapes[0], `${RTM.GETLINK}`);
  const windows = shapes.slice(1);
  // the qdisc, chain 10001 (3 filters), chain 10000 (6), chain 0 on both hooks (6)
  assert.deepEqual(windows.map((w) => w.split(' ').length), [1, 3, 6, 6]);
  for (const w of windows) assert.deepEqual(w.split(' ').map((m) => m.endsWith('+ack')), w.split(' ').map((_, i, a) => i === a.length - 1));
  const o = await driver.observe(dev);
  assert.ok(o.ok);
  assert.deepEqual(o.value.filters.map(filterKey).sort(), CONTRACT_PROGRAM.map(filterKey).sort());
});

test("a refused op: its line, its tc text and the kernel's message; earlier windows stay, later windows are never sent, its window's later ops are undone", async () => {
  const { driver, sockets, kernel } = setup();
  assert.ok((await driver.apply(dev, { ops: [{ op: 'add-qdisc' }, { op: 'add', filter: f(10000, 2, '10.0.0.1/32') }] })).ok);
  sockets[0]!.sent.length = 0;
  const plan: Plan = {
    ops: [
      { op: 'add', filter: f(10001, 2, '10.1.0.1/32') }, // window 1: applied
      { op: 'add', filter: f(10000, 2, '10.0.0.2/32') }, // window 2
      { op: 'add', filter: f(10000, 2, '10.0.0.1/32') }, //   EEXIST
      { op: 'add', filter: f(10000, 2, '10.0.0.3/32') }, //   ran, undone
      { op: 'add', filter: f(10000, 3, '10.0.0.4/32') }, //   ran, undone
      { op: 'add', filter: f(0, 10000, '10.0.0.5/32') }, // window 3: never sent
    ],
  };
  const r = await driver.apply(dev, plan);
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed', JSON.stringify(r));
  assert.equal(r.error.line, 3);
  assert.equal(r.error.text, 'filter add dev rep1 ingress chain 10000 pref 2 protocol ip flower dst_ip 10.0.0.1/32 action pass');
  assert.equal(r.error.stderr, 'File exists, errno 17\n2 later op(s) of the same netlink batch ran in the kernel; 2 undone');
  assert.match(describeError(r.error), /^tc -batch on rep1 failed at line 3 \(filter add dev rep1 .*10\.0\.0\.1\/32 action pass\): File exists, errno 17/);
  const left = kernel.state(dev.name).filters.map((k) => k.flower!.match.dstIp).sort();
  assert.deepEqual(left, ['10.0.0.1/32', '10.0.0.2/32', '10.1.0.1/32']);
  // after GETLINK: window 1, window 2, then the undo (dump + delete, twice); window 3 never
  const kinds = sentShape(sockets[0]!);
  assert.deepEqual(kinds, [`${RTM.GETLINK}`, `${RTM.NEWTFILTER}+ack`, `${RTM.NEWTFILTER} ${RTM.NEWTFILTER} ${RTM.NEWTFILTER} ${RTM.NEWTFILTER}+ack`, `${RTM.GETTFILTER}`, `${RTM.DELTFILTER}+ack`, `${RTM.GETTFILTER}`, `${RTM.DELTFILTER}+ack`]);
});

test('deletes that ran after a failed delete are written back with their handles', async () => {
  const { driver, kernel } = setup();
  assert.ok((await driver.apply(dev, { ops: [{ op: 'add-qdisc' }, ...['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32'].map((ip) => ({ op: 'add' as const, filter: f(10000, 2, ip, [{ kind: 'ct', zone: 3, commit: true }, { kind: 'goto', chain: 10001 }]) }))] })).ok);
  const o = await driver.observe(dev);
  assert.ok(o.ok);
  const [a, b, c] = o.value.filters.map((x) => ({ ...x, handle: x.handle! }));
  const r = await driver.apply(dev, { ops: [{ op: 'delete', filter: a! }, { op: 'delete', filter: { ...a!, handle: 99 } }, { op: 'delete', filter: b! }, { op: 'delete', filter: c! }] });
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed' && r.error.line === 2);
  assert.match(r.error.stderr, /Specified filter handle not found \(No such file or directory, errno 2\)\n2 later op\(s\) of the same netlink batch ran in the kernel; 2 undone/);
  const back = await driver.observe(dev);
  assert.ok(back.ok);
  assert.deepEqual(back.value.filters.map((x) => `${x.match.dstIp}#${x.handle}`).sort(), [b!, c!].map((x) => `${x.match.dstIp}#${x.handle}`).sort());
  assert.deepEqual(back.value.filters.map((x) => x.actions), [b!.actions, c!.actions]);
  assert.equal(kernel.state(dev.name).filters.length, 2);
});

test('a missing device: netlink-failed from RTM_GETLINK naming it; nothing else is sent', async () => {
  const { driver, sockets } = setup();
  const r = await driver.observe({ name: 'gone0' });
  assert.ok(!r.ok && r.error.code === 'netlink-failed');
  assert.equal(describeError(r.error), 'netlink RTM_GETLINK on gone0 failed (errno 19): no such device (No such device, errno 19)');
  const a = await driver.apply({ name: 'gone0' }, { ops: [{ op: 'add-qdisc' }] });
  assert.ok(!a.ok && a.error.code === 'netlink-failed' && a.error.op === 'RTM_GETLINK');
  assert.equal(sockets[0]!.sent.length, 2);
});

test('no reply (SO_RCVTIMEO): netlink-failed that says what may have been applied; the socket is replaced', async () => {
  const { driver, sockets } = setup();
  assert.ok((await driver.apply(dev, { ops: [{ op: 'add-qdisc' }] })).ok);
  const s0 = sockets[0]!;
  // the GETLINK is answered, the window's reply "times out"
  const receive = s0.receive.bind(s0);
  let calls = 0;
  s0.receive = (buf) => (++calls === 2 ? { ok: false, error: { call: 'recvfrom', errno: 11, message: 'x' } } : receive(buf));
  const r = await driver.apply(dev, { ops: [{ op: 'add', filter: f(10000, 2, '10.0.0.1/32') }, { op: 'add', filter: f(10000, 2, '10.0.0.2/32') }] });
  assert.ok(!r.ok && r.error.code === 'netlink-failed', JSON.stringify(r));
  assert.equal(r.error.message, 'recvfrom: no reply from the kernel within 5000 ms; ops 1..2 (filter add dev rep1 ingress chain 10000 pref 2 protocol ip flower dst_ip 10.0.0.1/32 action pass ...) may or may not have been applied; ops before 1 were');
  assert.ok(s0.closed);
  assert.ok((await driver.observe(dev)).ok);
  assert.equal(sockets.length, 2);
});

test('a reply that is not ours (another port) is a netlink-failed protocol error, and the socket is replaced', async () => {
  const { driver, sockets } = setup();
  sockets.length = 0;
  await driver.observe(dev);
  sockets[0]!.mangle = (d) => {
    const b = Buffer.from(d);
    b.writeUInt32LE(1, 12);
    return b;
  };
  const r = await driver.observe(dev);
  assert.ok(!r.ok && r.error.code === 'netlink-failed');
  assert.equal(r.error.message, 'unexpected reply: a reply for port 1, we are port 4242');
  assert.equal(r.error.errno, 71);
  assert.ok(sockets[0]!.closed);
});

test('a filter dump that cannot be decoded is tc-parse-failed naming the netdev and the filter', async () => {
  const { driver, sockets } = setup();
  assert.ok((await driver.apply(dev, { ops: [{ op: 'add-qdisc' }, { op: 'add', filter: f(10000, 2, '10.0.0.1/32') }] })).ok);
  sockets[0]!.mangle = (d) => {
    const b = Buffer.from(d);
    // every filter message loses its handle
    for (const m of splitMessages(b)) if (m.type === RTM.NEWTFILTER) b.writeUInt32LE(0, m.payload.byteOffset - b.byteOffset + 8);
    return b;
  };
  const r = await driver.observe(dev);
  assert.ok(!r.ok && r.error.code === 'tc-parse-failed', JSON.stringify(r));
  assert.equal(describeError(r.error), 'cannot read the TC state of rep1: ingress filter (chain 10000 pref 2 handle 0): a flower filter without a handle');
});

test('a dump the kernel marks interrupted is repeated; one that never settles is an error', async () => {
  const { driver, sockets } = setup();
  await driver.observe(dev);
  let marks = 1;
  const intr = (d: Buffer): Buffer => {
    const b = Buffer.from(d);
    if (marks > 0 && b.readUInt16LE(4) === RTM.NEWQDISC) {
      b.writeUInt16LE(b.readUInt16LE(6) | NLM_F.DUMP_INTR, 6);
      marks--;
    }
    return b;
  };
  sockets[0]!.mangle = intr;
  assert.ok((await driver.observe(dev)).ok, 'one interrupted dump, then a clean one');
  marks = 1000;
  const r = await driver.observe(dev);
  assert.ok(!r.ok && r.error.code === 'netlink-failed');
  assert.equal(describeError(r.error), 'netlink RTM_GETQDISC dump on rep1 failed (errno 4): the state kept changing during 3 dumps (NLM_F_DUMP_INTR)');
});

test('a socket that cannot be opened is netlink-failed naming the call', async () => {
  const driver = new NetlinkTcDriver(() => ({ ok: false, error: { call: 'socket', errno: 97, message: 'Address family not supported by protocol' } }), logger);
  const r = await driver.observe(dev);
  assert.ok(!r.ok);
  assert.equal(describeError(r.error), 'netlink socket on rep1 failed (errno 97): Address family not supported by protocol');
});

test('bugs upstream throw before anything is sent: an invalid interface name, a non-canonical value', async () => {
  const { driver, sockets } = setup();
  await assert.rejects(driver.observe({ name: 'bad name' }), /not a valid Linux interface name/);
  await assert.rejects(driver.apply(dev, { ops: [{ op: 'add-qdisc' }, { op: 'add', filter: f(10000, 2, '10.0.0.1/24') }] }), /dst_ip "10.0.0.1\/24" is not a canonical CIDR/);
  assert.equal(sockets.length, 0);
});

test('an empty plan sends nothing', async () => {
  const { driver, sockets } = setup();
  assert.deepEqual(await driver.apply(dev, { ops: [] }), { ok: true, value: { added: 0, replaced: 0, deleted: 0, qdisc: 'unchanged' } });
  assert.equal(sockets.length, 0);
});
