// A NetlinkSocket that answers like rtnetlink, backed by the dry-run driver's model of the
// kernel (drivers/dry-run/fake-kernel.ts, the lab-measured rules). It lets the TcDriver
// contract and the driver's windowing/undo logic run against the netlink driver on every
// `npm test`; the real kernel runs the same contract in the lab (contract.lab.ts).
//
// Like the kernel it handles every message of a datagram in order, also after one fails,
// answers each failure with NLMSG_ERROR (extended ACK text, NLM_F_CAPPED) and each request
// that asks for it with an ACK, one datagram per answer; dumps come several messages per
// datagram, ending in NLMSG_DONE. Failure injection: `failReceive`, `mangle`.
import type { PlanOp } from '../../../core/model/plan.js';
import type { Hook, TcFilter } from '../../../core/model/tc.js';
import { EMPTY_STATE, execOp, type KernelFilter, type KernelState } from '../../../drivers/dry-run/fake-kernel.js';
import { AttrIndex, attrMap, getString, getU32, NlWriter } from '../../../drivers/tc-netlink/attr.js';
import { IFINFOMSG_LEN, IFLA_IFNAME, NLM_F, NLMSG, NLMSG_HDRLEN, NLMSGERR_ATTR, RTM, TC_H, TCA, TCMSG_LEN } from '../../../drivers/tc-netlink/constants.js';
import { protocolOf } from '../../../drivers/tc-netlink/decode.js';
import { decodeFlowerOptions } from '../../../drivers/tc-netlink/decode-flower.js';
import { encodeOp, filterInfo, hookParent } from '../../../drivers/tc-netlink/encode.js';
import { splitMessages, type NlMsg } from '../../../drivers/tc-netlink/message.js';
import type { NetlinkSocket, SocketError, SocketResult } from '../../../drivers/tc-netlink/socket.js';

/** errno of each refusal the fake kernel words like tc does. */
const ERRNO: readonly [RegExp, number][] = [
  [/File exists|Exclusivity flag/, 17],
  [/not found|Cannot find/, 2],
  [/./, 22],
];

export interface SeedFilter {
  readonly hook: Hook;
  readonly chain: number;
  readonly pref: number;
  readonly protocol: string;
  readonly kind: string;
  readonly flower?: TcFilter;
}

export class FakeKernelSocket implements NetlinkSocket {
  readonly portId = 4242;
  /** Every datagram the driver sent. */
  readonly sent: Buffer[] = [];
  closed = false;
  /** The next receive fails with this (EAGAIN: a timeout). */
  failReceive: SocketError | undefined;
  /** Rewrites a reply datagram before the driver sees it (protocol errors). */
  mangle: ((datagram: Buffer) => Buffer) | undefined;
  private readonly queue: Buffer[] = [];

  constructor(private readonly kernel: FakeKernel) {}

  send(buf: Buffer): SocketResult<void> {
    if (this.closed) return { ok: false, error: { call: 'sendto', errno: 9, message: 'Bad file descriptor' } };
    this.sent.push(Buffer.from(buf));
    for (const m of splitMessages(buf)) this.queue.push(...this.kernel.handle(m, this.portId));
    return { ok: true, value: undefined };
  }

  receive(buf: Buffer): SocketResult<number> {
    if (this.failReceive) {
      const error = this.failReceive;
      this.failReceive = undefined;
      return { ok: false, error };
    }
    let d = this.queue.shift();
    if (d === undefined) return { ok: false, error: { call: 'recvfrom', errno: 11, message: 'Resource temporarily unavailable' } };
    if (this.mangle) d = this.mangle(d);
    d.copy(buf, 0, 0, Math.min(d.length, buf.length));
    return { ok: true, value: d.length };
  }

  close(): void {
    this.closed = true;
  }
}

/** The devices and their TC state, shared by every socket opened on it. */
export class FakeKernel {
  readonly devices = new Map<string, { ifindex: number; state: KernelState }>();
  /** Messages per dump datagram. */
  dumpBatch = 7;
  private nextIfindex = 2;

  addDevice(name: string): number {
    const ifindex = this.nextIfindex++;
    this.devices.set(name, { ifindex, state: EMPTY_STATE });
    return ifindex;
  }

  seed(name: string, qdisc: KernelState['qdisc'], filters: readonly SeedFilter[]): void {
    const dev = this.devices.get(name);
    if (!dev) throw new Error(`no device ${name}`);
    const out: KernelFilter[] = [];
    for (const f of filters) {
      const handle = f.flower?.handle ?? 1 + Math.max(0, ...out.filter((k) => k.hook === f.hook && k.chain === f.chain && k.pref === f.pref).map((k) => k.handle));
      out.push({ hook: f.hook, chain: f.chain, pref: f.pref, protocol: f.protocol, kind: f.kind, handle, ...(f.flower ? { flower: { ...f.flower, handle } } : {}) });
    }
    dev.state = { qdisc, filters: out };
  }

  state(name: string): KernelState {
    return this.devices.get(name)?.state ?? EMPTY_STATE;
  }

  private byIndex(ifindex: number): [string, { ifindex: number; state: KernelState }] | undefined {
    return [...this.devices].find(([, d]) => d.ifindex === ifindex);
  }

  /** The answer datagrams to one request. */
  handle(m: NlMsg, pid: number): Buffer[] {
    const ack = (m.flags & NLM_F.ACK) !== 0;
    switch (m.type) {
      case RTM.GETLINK: {
        const name = getString(attrMap(m.payload.subarray(IFINFOMSG_LEN), 'link').get(IFLA_IFNAME) ?? Buffer.alloc(0));
        const dev = this.devices.get(name);
        if (!dev) return [errorReply(m, pid, 19)];
        const w = new NlWriter();
        const s = w.beginMessage(RTM.NEWLINK, 0, m.seq, pid);
        const info = Buffer.alloc(IFINFOMSG_LEN);
        info.writeInt32LE(dev.ifindex, 4);
        w.raw(info);
        w.string(IFLA_IFNAME, name);
        w.endMessage(s);
        return [w.finish()];
      }
      case RTM.GETQDISC: {
        const msgs: Buffer[] = [];
        for (const d of this.devices.values()) {
          // every device has a root qdisc the reader must skip; some have clsact/ingress
          msgs.push(qdiscMessage(m.seq, pid, d.ifindex, 0, 0xffffffff, 'noqueue'));
          if (d.state.qdisc) msgs.push(qdiscMessage(m.seq, pid, d.ifindex, TC_H.INGRESS_QDISC, TC_H.CLSACT, d.state.qdisc));
        }
        return this.dumpDatagrams(msgs, m.seq, pid);
      }
      case RTM.GETTFILTER: {
        const t = tcmsgOf(m);
        const found = this.byIndex(t.ifindex);
        if (!found) return this.dumpDatagrams([], m.seq, pid);
        const st = found[1].state;
        const hook: Hook = st.qdisc === 'ingress' || t.parent === TC_H.MIN_INGRESS ? 'ingress' : 'egress';
        const chainOnly = t.attrs.get(TCA.CHAIN);
        const pref = t.info >>> 16;
        const filters = [...st.filters]
          .filter((k) => k.hook === hook && (chainOnly === undefined || k.chain === getU32(chainOnly, 'chain')) && (pref === 0 || k.pref === pref))
          .sort((a, b) => a.chain - b.chain || a.pref - b.pref || a.handle - b.handle);
        const msgs: Buffer[] = [];
        let place = '';
        for (const k of filters) {
          if (`${k.chain}/${k.pref}` !== place) msgs.push(filterMessage(m.seq, pid, t.ifindex, k, false));
          place = `${k.chain}/${k.pref}`;
          msgs.push(filterMessage(m.seq, pid, t.ifindex, k, true));
        }
        return this.dumpDatagrams(msgs, m.seq, pid);
      }
      case RTM.NEWQDISC:
      case RTM.DELQDISC:
      case RTM.NEWTFILTER:
      case RTM.DELTFILTER: {
        const t = tcmsgOf(m);
        const found = this.byIndex(t.ifindex);
        if (!found) return [errorReply(m, pid, 19)];
        const op = planOpOf(m, t);
        const dev = found[1];
        if (op.op === 'add' && op.filter.handle !== undefined) {
          // an add with a chosen handle (the driver's undo of a delete): EEXIST when it is taken
          const taken = dev.state.filters.some((k) => k.hook === op.filter.hook && k.chain === op.filter.chain && k.pref === op.filter.pref && k.handle === op.filter.handle);
          if (taken) return [errorReply(m, pid, 17)];
        }
        const execd: PlanOp = op.op === 'add' && op.filter.handle !== undefined ? { op: 'replace', filter: { ...op.filter, handle: op.filter.handle } } : op;
        const r = execOp(dev.state, execd);
        if (!r.ok) {
          const text = r.message.replace(/^Error: /, '').replace(/\.$/, '');
          const errno = ERRNO.find(([re]) => re.test(text))![1];
          return [errorReply(m, pid, errno, /^RTNETLINK answers/.test(text) ? undefined : text)];
        }
        dev.state = r.state;
        return ack ? [errorReply(m, pid, 0)] : [];
      }
      default:
        return [errorReply(m, pid, 95)];
    }
  }

  private dumpDatagrams(msgs: readonly Buffer[], seq: number, pid: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < msgs.length; i += this.dumpBatch) out.push(Buffer.concat(msgs.slice(i, i + this.dumpBatch)));
    const w = new NlWriter();
    const s = w.beginMessage(NLMSG.DONE, NLM_F.MULTI, seq, pid);
    w.raw(Buffer.alloc(4));
    w.endMessage(s);
    out.push(w.finish());
    return out;
  }
}

interface Tcmsg {
  readonly ifindex: number;
  readonly handle: number;
  readonly parent: number;
  readonly info: number;
  readonly attrs: Map<number, Buffer>;
}

function tcmsgOf(m: NlMsg): Tcmsg {
  return { ifindex: m.payload.readInt32LE(4), handle: m.payload.readUInt32LE(8), parent: m.payload.readUInt32LE(12), info: m.payload.readUInt32LE(16), attrs: attrMap(m.payload.subarray(TCMSG_LEN), 'request') };
}

/** A request back into the plan op it encodes. */
function planOpOf(m: NlMsg, t: Tcmsg): PlanOp & { filter?: TcFilter } {
  if (m.type === RTM.NEWQDISC) return { op: 'add-qdisc' };
  if (m.type === RTM.DELQDISC) return { op: 'delete-qdisc' };
  const hook: Hook = t.parent === TC_H.MIN_INGRESS ? 'ingress' : 'egress';
  const chain = t.attrs.get(TCA.CHAIN) ? getU32(t.attrs.get(TCA.CHAIN)!, 'chain') : 0;
  const protocol = protocolOf(t.info)!;
  const options = t.attrs.get(TCA.OPTIONS) ?? Buffer.alloc(0);
  const o = decodeFlowerOptions(new AttrIndex().load(options, 0, options.length, 'options'));
  const filter: TcFilter = { hook, chain, pref: t.info >>> 16, protocol, match: o.match, actions: o.actions };
  if (m.type === RTM.DELTFILTER) return { op: 'delete', filter: { ...filter, handle: t.handle } };
  if ((m.flags & NLM_F.EXCL) !== 0) return { op: 'add', filter: t.handle === 0 ? filter : { ...filter, handle: t.handle } };
  return { op: 'replace', filter: { ...filter, handle: t.handle } };
}

function qdiscMessage(seq: number, pid: number, ifindex: number, handle: number, parent: number, kind: string): Buffer {
  const w = new NlWriter();
  const s = w.beginMessage(RTM.NEWQDISC, NLM_F.MULTI, seq, pid);
  w.tcmsg(ifindex, handle, parent, 0);
  w.string(TCA.KIND, kind);
  w.endMessage(s);
  return w.finish();
}

/** A dump entry: the header of a chain/pref (no options) or one filter, as the kernel writes them. */
function filterMessage(seq: number, pid: number, ifindex: number, k: KernelFilter, full: boolean): Buffer {
  const w = new NlWriter();
  const s = w.beginMessage(RTM.NEWTFILTER, NLM_F.MULTI, seq, pid);
  const protocol = (['all', 'ip', 'ipv6', 'arp', '802.1Q', '802.1ad'] as const).find((p) => p === k.protocol) ?? 'all';
  w.tcmsg(ifindex, full ? k.handle : 0, hookParent(k.hook), filterInfo(k.pref, protocol));
  if (full && k.flower) {
    // the same attributes a request carries: our encoder writes them
    const req = new NlWriter();
    encodeOp(req, { op: 'add', filter: k.flower }, ifindex, 0, false);
    w.raw(req.finish().subarray(NLMSG_HDRLEN + TCMSG_LEN));
  } else {
    w.u32(TCA.CHAIN, k.chain);
    w.string(TCA.KIND, k.kind);
    if (full) w.endNest(w.beginNest(TCA.OPTIONS));
  }
  w.endMessage(s);
  return w.finish();
}

/** NLMSG_ERROR: errno 0 is an ACK; with NETLINK_CAP_ACK only the request's header is copied. */
function errorReply(m: NlMsg, pid: number, errno: number, text?: string): Buffer {
  const w = new NlWriter();
  const s = w.beginMessage(NLMSG.ERROR, NLM_F.CAPPED | (text ? NLM_F.ACK_TLVS : 0), m.seq, pid);
  const body = Buffer.alloc(4 + NLMSG_HDRLEN);
  body.writeInt32LE(-errno, 0);
  body.writeUInt32LE(NLMSG_HDRLEN + m.payload.length, 4);
  body.writeUInt16LE(m.type, 8);
  body.writeUInt16LE(m.flags, 10);
  body.writeUInt32LE(m.seq, 12);
  w.raw(body);
  if (text) w.string(NLMSGERR_ATTR.MSG, text);
  w.endMessage(s);
  return w.finish();
}
