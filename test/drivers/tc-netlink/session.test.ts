// Requests and replies over a socket: sequence numbers, the check that every reply is ours,
// batches answered only by errors and a final ACK, dumps, timeouts and malformed replies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NlWriter } from '../../../drivers/tc-netlink/attr.js';
import { NLM_F, NLMSG, NLMSG_HDRLEN, NLMSGERR_ATTR, RTM } from '../../../drivers/tc-netlink/constants.js';
import { describeStatus, NetlinkSession } from '../../../drivers/tc-netlink/session.js';
import type { NetlinkSocket, SocketResult } from '../../../drivers/tc-netlink/socket.js';

const PORT = 777;

/** Replays datagrams; an empty script times out like SO_RCVTIMEO (EAGAIN). */
class ScriptedSocket implements NetlinkSocket {
  readonly portId = PORT;
  readonly sent: Buffer[] = [];
  constructor(private readonly script: (Buffer | number)[]) {}
  send(buf: Buffer): SocketResult<void> {
    this.sent.push(buf);
    return { ok: true, value: undefined };
  }
  receive(buf: Buffer): SocketResult<number> {
    const next = this.script.shift();
    if (next === undefined) return { ok: false, error: { call: 'recvfrom', errno: 11, message: 'Resource temporarily unavailable' } };
    if (typeof next === 'number') return { ok: true, value: next }; // a datagram of that (cut) length
    next.copy(buf);
    return { ok: true, value: next.length };
  }
  close(): void {}
}

function status(seq: number, errno: number, text?: string, pid = PORT, type: number = NLMSG.ERROR): Buffer {
  const w = new NlWriter();
  const m = w.beginMessage(type, NLM_F.CAPPED | (text ? NLM_F.ACK_TLVS : 0), seq, pid);
  const body = Buffer.alloc(type === NLMSG.ERROR ? 4 + NLMSG_HDRLEN : 4);
  body.writeInt32LE(-errno, 0);
  w.raw(body);
  if (text) w.string(NLMSGERR_ATTR.MSG, text);
  w.endMessage(m);
  return w.finish();
}

function data(seq: number, flags: number = NLM_F.MULTI, pid = PORT): Buffer {
  const w = new NlWriter();
  const m = w.beginMessage(RTM.NEWTFILTER, flags, seq, pid);
  w.tcmsg(1, 0, 0, 0);
  w.endMessage(m);
  return w.finish();
}

const session = (script: (Buffer | number)[], first = 9) => new NetlinkSession(new ScriptedSocket(script), 5000, first);

test('a batch: failed ops answer with errors, the last op with its ACK; an op without a reply succeeded', () => {
  const s = session([status(11, 17, 'Exclusivity flag on, cannot modify'), status(12, 0)]);
  const r = s.exchange(Buffer.alloc(16), 10, 12);
  assert.ok(r.ok);
  assert.deepEqual([...r.value], [[11, { errno: 17, message: 'Exclusivity flag on, cannot modify' }]]);
});

test('a batch whose last op fails: its error ends the wait too', () => {
  const s = session([status(10, 2), status(12, 22)]);
  const r = s.exchange(Buffer.alloc(16), 10, 12);
  assert.ok(r.ok);
  assert.deepEqual([...r.value.keys()], [10, 12]);
});

test('replies that are not ours are protocol failures: another sequence number, another port, a data message', () => {
  assert.deepEqual(session([status(99, 0)]).exchange(Buffer.alloc(16), 10, 12), { ok: false, failure: { kind: 'protocol', problem: 'a reply with sequence number 99, expected 10..12' } });
  assert.deepEqual(session([status(12, 0, undefined, 5)]).exchange(Buffer.alloc(16), 10, 12), { ok: false, failure: { kind: 'protocol', problem: 'a reply for port 5, we are port 777' } });
  assert.deepEqual(session([data(12)]).exchange(Buffer.alloc(16), 10, 12), { ok: false, failure: { kind: 'protocol', problem: `a message of type ${RTM.NEWTFILTER} in reply to a change (seq 12)` } });
});

test('no reply within SO_RCVTIMEO is a socket failure that says so (the agent is never blocked for good)', () => {
  assert.deepEqual(session([]).exchange(Buffer.alloc(16), 10, 10), { ok: false, failure: { kind: 'socket', call: 'recvfrom', errno: 11, message: 'no reply from the kernel within 5000 ms' } });
});

test('a datagram larger than the receive buffer, an empty one, or one that does not split, is a protocol failure', () => {
  assert.deepEqual(session([70_000]).query(Buffer.alloc(16), 10, true), { ok: false, failure: { kind: 'protocol', problem: 'a datagram of 70000 bytes does not fit the 65536-byte receive buffer' } });
  assert.deepEqual(session([0]).query(Buffer.alloc(16), 10, true), { ok: false, failure: { kind: 'protocol', problem: 'an empty datagram' } });
  const cut = data(10).subarray(0, 20);
  const r = session([cut]).query(Buffer.alloc(16), 10, true);
  assert.ok(!r.ok && r.failure.kind === 'protocol' && /^malformed reply: /.test(r.failure.problem), JSON.stringify(r));
  const badStatus = status(10, 0).subarray(0, 18);
  badStatus.writeUInt32LE(18, 0);
  assert.deepEqual(session([badStatus]).exchange(Buffer.alloc(16), 10, 10), { ok: false, failure: { kind: 'protocol', problem: 'malformed reply: error reply of 2 bytes has no error code' } });
});

test('a dump collects data messages over several datagrams until NLMSG_DONE', () => {
  const s = session([Buffer.concat([data(10), data(10)]), data(10), status(10, 0, undefined, PORT, NLMSG.DONE)]);
  const r = s.query(Buffer.alloc(16), 10, true);
  assert.ok(r.ok);
  assert.deepEqual([r.value.messages.length, r.value.status, r.value.interrupted], [3, { errno: 0 }, false]);
});

test('a dump marked NLM_F_DUMP_INTR says so; an error ends it; an ACK inside it is a protocol failure', () => {
  const intr = session([data(10, NLM_F.MULTI | NLM_F.DUMP_INTR), status(10, 0, undefined, PORT, NLMSG.DONE)]).query(Buffer.alloc(16), 10, true);
  assert.ok(intr.ok && intr.value.interrupted);
  const refused = session([status(10, 19)]).query(Buffer.alloc(16), 10, true);
  assert.ok(refused.ok);
  assert.deepEqual([refused.value.messages, refused.value.status], [[], { errno: 19 }]);
  assert.deepEqual(session([status(10, 0)]).query(Buffer.alloc(16), 10, true), { ok: false, failure: { kind: 'protocol', problem: 'an ACK in the middle of a dump' } });
});

test('a GET returns its one data message', () => {
  const r = session([data(10, 0)]).query(Buffer.alloc(16), 10, false);
  assert.ok(r.ok);
  assert.equal(r.value.messages.length, 1);
});

test('sequence numbers increase, skip 0 when they wrap, and a batch across the wrap is still recognised', () => {
  const s = session([status(1, 0)], 0xfffffffe);
  assert.deepEqual([s.nextSeq(), s.nextSeq(), s.nextSeq()], [0xffffffff, 1, 2]);
  const r = s.exchange(Buffer.alloc(16), 0xffffffff, 1);
  assert.ok(r.ok);
});

test('describeStatus: the kernel text first, then strerror and the errno', () => {
  assert.equal(describeStatus({ errno: 17, message: 'Exclusivity flag on, cannot modify' }), 'Exclusivity flag on, cannot modify (File exists, errno 17)');
  assert.equal(describeStatus({ errno: 2 }), 'No such file or directory, errno 2');
  assert.equal(describeStatus({ errno: 4242 }), 'Unknown error 4242, errno 4242');
});
