// Requests and replies over one NetlinkSocket: sequence numbers, the check that every reply
// is ours (our port id, a sequence number we are waiting for), multipart dumps, and batches
// of requests where only errors and the last request's ACK come back.
//
//   exchange:  [op seq a] [op seq a+1] ... [op seq b, NLM_F_ACK]  ── one sendto
//              ◄── NLMSG_ERROR for each failed op (the kernel always answers a failure),
//                  then the ACK or error of seq b. rtnetlink handles a datagram's messages
//                  in order, synchronously inside sendto, so once b is answered every
//                  earlier failure has been read: an op with no reply succeeded.
//   query:     one GET (one data message) or dump (data messages, NLM_F_MULTI, NLMSG_DONE)
import { MalformedMessage } from './attr.js';
import { NLM_F, NLMSG } from './constants.js';
import { EAGAIN, strerror } from './errno.js';
import { readStatus, splitMessages, type NlMsg, type NlStatus } from './message.js';
import type { NetlinkSocket } from './socket.js';

/** Why an exchange did not produce an answer from the kernel (the session is unusable after it). */
export type TransportFailure =
  | { readonly kind: 'socket'; readonly call: string; readonly errno: number; readonly message: string }
  | { readonly kind: 'protocol'; readonly problem: string };

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: TransportFailure };

export interface QueryReply {
  /** Data messages in arrival order (empty when the kernel answered with an error). */
  readonly messages: readonly NlMsg[];
  /** Non-zero errno: the kernel refused the request (a dump's NLMSG_DONE may carry one too). */
  readonly status: NlStatus;
  /** NLM_F_DUMP_INTR: the state changed during the dump; its result may be inconsistent. */
  readonly interrupted: boolean;
}

/** Large enough for any datagram: the kernel fills dump datagrams up to 32 KiB. */
const RECEIVE_BYTES = 64 * 1024;

export class NetlinkSession {
  private seq: number;
  private readonly rbuf = Buffer.alloc(RECEIVE_BYTES);

  constructor(
    readonly socket: NetlinkSocket,
    private readonly receiveTimeoutMs: number,
    firstSeq = 1,
  ) {
    this.seq = firstSeq >>> 0;
  }

  /** A fresh sequence number for the next request. */
  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /**
   * Sends a batch whose requests carry sequence numbers `first`..`last` (consecutive; only
   * `last` has NLM_F_ACK) and returns the kernel's error for each failed one, by seq.
   */
  exchange(buf: Buffer, first: number, last: number): Outcome<Map<number, NlStatus>> {
    return malformedIsProtocol(() => this.exchangeUnchecked(buf, first, last));
  }

  /** Sends one GET or dump request (sequence number `seq`) and collects its answer. */
  query(buf: Buffer, seq: number, dump: boolean): Outcome<QueryReply> {
    return malformedIsProtocol(() => this.queryUnchecked(buf, seq, dump));
  }

  private exchangeUnchecked(buf: Buffer, first: number, last: number): Outcome<Map<number, NlStatus>> {
    const sent = this.socket.send(buf);
    if (!sent.ok) return { ok: false, failure: { kind: 'socket', ...sent.error } };
    const errors = new Map<number, NlStatus>();
    const inFlight = (seq: number): boolean => (first <= last ? seq >= first && seq <= last : seq >= first || seq <= last);
    for (;;) {
      const got = this.receive();
      if (!got.ok) return got;
      for (const m of got.value) {
        if (!inFlight(m.seq)) return protocol(`a reply with sequence number ${m.seq}, expected ${first}..${last}`);
        if (m.type !== NLMSG.ERROR) return protocol(`a message of type ${m.type} in reply to a change (seq ${m.seq})`);
        const status = readStatus(m);
        if (status.errno !== 0) errors.set(m.seq, status);
        if (m.seq === last) return { ok: true, value: errors };
      }
    }
  }

  private queryUnchecked(buf: Buffer, seq: number, dump: boolean): Outcome<QueryReply> {
    const sent = this.socket.send(buf);
    if (!sent.ok) return { ok: false, failure: { kind: 'socket', ...sent.error } };
    const messages: NlMsg[] = [];
    let interrupted = false;
    for (;;) {
      const got = this.receive();
      if (!got.ok) return got;
      for (const m of got.value) {
        if (m.seq !== seq) return protocol(`a reply with sequence number ${m.seq}, expected ${seq}`);
        if ((m.flags & NLM_F.DUMP_INTR) !== 0) interrupted = true;
        if (m.type === NLMSG.ERROR) {
          const status = readStatus(m);
          if (status.errno === 0 && dump) return protocol('an ACK in the middle of a dump');
          return { ok: true, value: { messages: status.errno === 0 ? messages : [], status, interrupted } };
        }
        if (m.type === NLMSG.DONE) {
          if (!dump) return protocol('NLMSG_DONE in reply to a GET');
          return { ok: true, value: { messages, status: readStatus(m), interrupted } };
        }
        if (m.type === NLMSG.NOOP) continue;
        messages.push(m);
        if (!dump) return { ok: true, value: { messages, status: { errno: 0 }, interrupted } };
      }
    }
  }

  /** One datagram, copied (the receive buffer is reused), split into messages that are ours. */
  private receive(): Outcome<NlMsg[]> {
    const r = this.socket.receive(this.rbuf);
    if (!r.ok) {
      if (r.error.errno === EAGAIN) return { ok: false, failure: { kind: 'socket', call: r.error.call, errno: EAGAIN, message: `no reply from the kernel within ${this.receiveTimeoutMs} ms` } };
      return { ok: false, failure: { kind: 'socket', ...r.error } };
    }
    if (r.value > this.rbuf.length) return protocol(`a datagram of ${r.value} bytes does not fit the ${this.rbuf.length}-byte receive buffer`);
    if (r.value === 0) return protocol('an empty datagram');
    const msgs = splitMessages(Buffer.from(this.rbuf.subarray(0, r.value)));
    const stranger = msgs.find((m) => m.pid !== this.socket.portId);
    if (stranger) return protocol(`a reply for port ${stranger.pid}, we are port ${this.socket.portId}`);
    return { ok: true, value: msgs };
  }
}

function malformedIsProtocol<T>(run: () => Outcome<T>): Outcome<T> {
  try {
    return run();
  } catch (e) {
    if (e instanceof MalformedMessage) return protocol(`malformed reply: ${e.message}`);
    throw e;
  }
}

function protocol<T>(problem: string): Outcome<T> {
  return { ok: false, failure: { kind: 'protocol', problem } };
}

/** One line for logs and errors: "Exclusivity flag on, cannot modify (File exists, errno 17)". */
export function describeStatus(s: NlStatus): string {
  const base = `${strerror(s.errno)}, errno ${s.errno}`;
  return s.message ? `${s.message} (${base})` : base;
}
