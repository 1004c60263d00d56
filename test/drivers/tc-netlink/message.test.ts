// Message framing and the kernel's error replies, on datagrams captured from the lab kernel
// (test/golden/netlink/replies.json).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MalformedMessage } from '../../../drivers/tc-netlink/attr.js';
import { NLM_F, NLMSG } from '../../../drivers/tc-netlink/constants.js';
import { readStatus, splitMessages } from '../../../drivers/tc-netlink/message.js';
import { hexBuffers, reply, replies } from './golden.js';

const only = (name: string) => {
  const [d] = hexBuffers(reply(name).datagrams);
  const msgs = splitMessages(d!);
  assert.equal(msgs.length, 1);
  return msgs[0]!;
};

test('an ACK is NLMSG_ERROR with error 0, capped (NETLINK_CAP_ACK), carrying our port and sequence number', () => {
  const r = reply('filter-add-ack');
  const m = only('filter-add-ack');
  const req = Buffer.from(r.request, 'hex');
  assert.deepEqual([m.type, m.pid, m.seq, (m.flags & NLM_F.CAPPED) !== 0], [NLMSG.ERROR, r.portId, req.readUInt32LE(8), true]);
  assert.deepEqual(readStatus(m), { errno: 0 });
});

test("a second clsact: EEXIST with the kernel's extended ACK text", () => {
  assert.deepEqual(readStatus(only('qdisc-add-exists')), { errno: 17, message: 'Exclusivity flag on, cannot modify' });
});

test('a rejected ct_state: EINVAL, the text and the offset of the offending attribute', () => {
  const s = readStatus(only('filter-add-bad-ct-state'));
  assert.deepEqual(s, { errno: 22, message: 'new and est are mutually exclusive', offset: 68 });
  // the offset points into the request we sent: at TCA_FLOWER_KEY_CT_STATE_MASK (type 92)
  const req = Buffer.from(reply('filter-add-bad-ct-state').request, 'hex');
  assert.equal(req.readUInt16LE(s.offset! + 2), 92);
});

test('refusals without text: EEXIST for a duplicate filter, EINVAL for a replace with another mask, ENODEV for a missing link', () => {
  assert.deepEqual(readStatus(only('filter-add-exists')), { errno: 17 });
  assert.deepEqual(readStatus(only('filter-replace-other-mask')), { errno: 22 });
  assert.deepEqual(readStatus(only('getlink-missing')), { errno: 19 });
});

test('refusals with text: no qdisc, another protocol in the pref, a missing handle', () => {
  assert.deepEqual(readStatus(only('filter-add-no-qdisc')), { errno: 22, message: "Parent Qdisc doesn't exists" });
  assert.deepEqual(readStatus(only('filter-add-other-protocol')), { errno: 22, message: 'Filter with specified priority/protocol not found' });
  assert.deepEqual(readStatus(only('filter-delete-missing-handle')), { errno: 2, message: 'Specified filter handle not found' });
});

test('a dump of an ifindex that does not exist ends at once with NLMSG_DONE, error 0', () => {
  const m = only('dump-missing-ifindex');
  assert.deepEqual([m.type, (m.flags & NLM_F.MULTI) !== 0, readStatus(m)], [NLMSG.DONE, true, { errno: 0 }]);
});

test('every cut of every captured reply either splits or is a MalformedMessage (never another exception)', () => {
  let cuts = 0;
  for (const r of replies()) {
    for (const d of hexBuffers(r.datagrams)) {
      for (let n = 0; n < d.length; n++) {
        cuts++;
        try {
          for (const m of splitMessages(d.subarray(0, n))) if (m.type === NLMSG.ERROR || m.type === NLMSG.DONE) readStatus(m);
        } catch (e) {
          assert.ok(e instanceof MalformedMessage, `${r.name} cut at ${n}: ${String(e)}`);
        }
      }
    }
  }
  assert.ok(cuts > 500);
});

test('malformed framing is named: a length past the datagram, a length below the header, a cut error code, a positive error', () => {
  const ack = hexBuffers(reply('filter-add-ack').datagrams)[0]!;
  const long = Buffer.from(ack);
  long.writeUInt32LE(ack.length + 4, 0);
  assert.throws(() => splitMessages(long), /message at offset 0 has length 40, 36 bytes left/);
  const tiny = Buffer.from(ack);
  tiny.writeUInt32LE(8, 0);
  assert.throws(() => splitMessages(tiny), /has length 8/);
  assert.throws(() => readStatus({ type: NLMSG.ERROR, flags: 0, seq: 1, pid: 1, payload: Buffer.alloc(2) }), /error reply of 2 bytes has no error code/);
  const positive = Buffer.alloc(20);
  positive.writeInt32LE(5, 0);
  assert.throws(() => readStatus({ type: NLMSG.ERROR, flags: 0, seq: 1, pid: 1, payload: positive }), /positive error code 5/);
  const uncapped = Buffer.alloc(20);
  uncapped.writeInt32LE(-22, 0);
  uncapped.writeUInt32LE(200, 4); // claims the request copy is 200 bytes long
  assert.throws(() => readStatus({ type: NLMSG.ERROR, flags: NLM_F.ACK_TLVS, seq: 1, pid: 1, payload: uncapped }), /the copied request \(200 bytes\) runs past the reply/);
});
