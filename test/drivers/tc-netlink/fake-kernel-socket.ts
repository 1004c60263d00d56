// A NetlinkSocket that answers like rtnetlink, backed by the dry-run driver's model of the
// kernel (drivers/dry-run/fake-kernel.ts, the lab-measured rules). It lets the TcDriver
// contract and the driver's windowing/undo logic run against the netlink driver on every
// `npm test`; the real kernel runs the same contract in the lab (contract.lab.ts).
//
// Like the kernel it handles every message of a datagram in order, also after one fails,
// answers each failure with NLMSG_ERROR (extended ACK text, NLM_F_CAPPED) and each request
// that asks for it with an ACK, one datagram per answer; dumps come several messages per
// datagram, ending in NLMSG_DONE. Failure injection: `failReceive`, `mangle`.
//
// Shared blocks as the lab kernel showed them (test/golden/netlink/block.json): a clsact
// added with TCA_INGRESS_BLOCK binds its device to the block (created on first use, gone
// with its last port, filters and all); the block's filters are addressed with
// TCM_IFINDEX_MAGIC_BLOCK + the index, and refused through a bound port's ingress hook
// (EOPNOTSUPP), whose dump lists the block's filters; a block nobody uses dumps empty; a
// filter naming a device that does not exist as indev is ENODEV.
import type { PlanOp } from '../../../core/model/plan.js';
import type { Hook, TcFilter } from '../../../core/model/tc.js';
import { EMPTY_STATE, execOp, type KernelFilter, type KernelState } from '../../../drivers/dry-run/fake-kernel.js';
import { AttrIndex, attrMap, getString, getU32, NlWriter } from '../../../drivers/tc-netlink/attr.js';
import { IFINFOMSG_LEN, IFLA_IFNAME, NLM_F, NLMSG, NLMSG_HDRLEN, NLMSGERR_ATTR, RTM, TC_H, TCA, TCM_IFINDEX_MAGIC_BLOCK, TCMSG_LEN } from '../../../drivers/tc-netlink/constants.js';
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

interface FakeDevice {
  ifindex: number;
  state: KernelState;
  /** The shared block of its clsact's ingress side. */
  ingressBlock?: number;
}

/** The devices and their TC state, shared by every socket opened on it. */
export class FakeKernel {
  readonly devices = new Map<string, FakeDevice>();
  /** Shared blocks by index (their state's qdisc is always clsact: it only gates filter ops). */
  readonly blocks = new Map<number, KernelState>();
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
    dev.state = { qdisc, filters: toKernel(filters) };
  }

  state(name: string): KernelState {
    return this.devices.get(name)?.state ?? EMPTY_STATE;
  }

  /** Binds a device (without a qdisc) to a block, as `qdisc add dev X ingress_block N clsact`. */
  bind(name: string, block: number): void {
    const dev = this.devices.get(name);
    if (!dev || dev.state.qdisc !== null) throw new Error(`cannot bind ${name}`);
    dev.state = { qdisc: 'clsact', filters: [] };
    dev.ingressBlock = block;
    if (!this.blocks.has(block)) this.blocks.set(block, { qdisc: 'clsact', filters: [] });
  }

  /** Puts filters into a bound block (handles as in seed). */
  seedBlock(block: number, filters: readonly SeedFilter[]): void {
    const st = this.blocks.get(block);
    if (!st) throw new Error(`no block ${block}`);
    this.blocks.set(block, { qdisc: 'clsact', filters: [...st.filters, ...toKernel(filters)] });
  }

  blockState(block: number): KernelState {
    return this.blocks.get(block) ?? EMPTY_STATE;
  }

  private byIndex(ifindex: number): [string, FakeDevice] | undefined {
    return [...this.devices].find(([, d]) => d.ifindex === ifindex);
  }

  /** Where a filter request or dump lands: a block (by index, or through a bound port's ingress hook) or a device. */
  private filterTarget(t: Tcmsg): { state: KernelState; set: (s: KernelState) => void; block?: number; viaPort?: boolean } | undefined {
    if (t.ifindex === (TCM_IFINDEX_MAGIC_BLOCK | 0)) {
      const st = this.blocks.get(t.parent);
      return st ? { state: st, set: (s) => this.blocks.set(t.parent, s), block: t.parent } : undefined;
    }
    const found = this.byIndex(t.ifindex);
    if (!found) return undefined;
    const dev = found[1];
    if (dev.ingressBlock !== undefined && t.parent === TC_H.MIN_INGRESS) {
      const b = dev.ingressBlock;
      return { state: this.blocks.get(b)!, set: (s) => this.blocks.set(b, s), block: b, viaPort: true };
    }
    return { state: dev.state, set: (s) => (dev.state = s) };
  }

  /** A device's clsact is gone: its block loses a port, and goes with its last one. */
  private unbind(dev: FakeDevice): void {
    const b = dev.ingressBlock;
    delete dev.ingressBlock;
    if (b !== undefined && ![...this.devices.values()].some((d) => d.ingressBlock === b)) this.blocks.delete(b);
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
          if (d.state.qdisc) msgs.push(qdiscMessage(m.seq, pid, d.ifindex, TC_H.INGRESS_QDISC, TC_H.CLSACT, d.state.qdisc, d.ingressBlock));
        }
        return this.dumpDatagrams(msgs, m.seq, pid);
      }
      case RTM.GETTFILTER: {
        const t = tcmsgOf(m);
        const target = this.filterTarget(t);
        if (!target) return this.dumpDatagrams([], m.seq, pid);
        const st = target.state;
        const hook: Hook = target.block !== undefined || st.qdisc === 'ingress' || t.parent === TC_H.MIN_INGRESS ? 'ingress' : 'egress';
        const chainOnly = t.attrs.get(TCA.CHAIN);
        const pref = t.info >>> 16;
        const filters = [...st.filters]
          .filter((k) => k.hook === hook && (chainOnly === undefined || k.chain === getU32(chainOnly, 'chain')) && (pref === 0 || k.pref === pref))
          .sort((a, b) => a.chain - b.chain || a.pref - b.pref || a.handle - b.handle);
        const msgs: Buffer[] = [];
        let place = '';
        for (const k of filters) {
          if (`${k.chain}/${k.pref}` !== place) msgs.push(filterMessage(m.seq, pid, t.ifindex, k, false, target.block));
          place = `${k.chain}/${k.pref}`;
          msgs.push(filterMessage(m.seq, pid, t.ifindex, k, true, target.block));
        }
        return this.dumpDatagrams(msgs, m.seq, pid);
      }
      case RTM.NEWQDISC:
      case RTM.DELQDISC: {
        const t = tcmsgOf(m);
        const found = this.byIndex(t.ifindex);
        if (!found) return [errorReply(m, pid, 19)];
        const dev = found[1];
        const block = t.attrs.get(TCA.INGRESS_BLOCK);
        if (m.type === RTM.NEWQDISC && block !== undefined) {
          if (dev.state.qdisc !== null) return [errorReply(m, pid, 17, 'Exclusivity flag on, cannot modify')];
          this.bind(found[0], getU32(block, 'block'));
          return ack ? [errorReply(m, pid, 0)] : [];
        }
        const r = execOp(dev.state, { op: m.type === RTM.NEWQDISC ? 'add-qdisc' : 'delete-qdisc' });
        if (!r.ok) return [refusal(m, pid, r.message)];
        dev.state = r.state;
        if (m.type === RTM.DELQDISC) this.unbind(dev);
        return ack ? [errorReply(m, pid, 0)] : [];
      }
      case RTM.NEWTFILTER:
      case RTM.DELTFILTER: {
        const t = tcmsgOf(m);
        const target = this.filterTarget(t);
        if (!target) return t.ifindex === (TCM_IFINDEX_MAGIC_BLOCK | 0) ? [errorReply(m, pid, 22, 'Block of given index was not found')] : [errorReply(m, pid, 19)];
        if (target.viaPort) return [errorReply(m, pid, 95, 'This filter block is shared. Please use the block index to manipulate the filters')];
        const op = planOpOf(m, t);
        const indev = op.filter?.match.indev;
        if (m.type === RTM.NEWTFILTER && indev !== undefined && !this.devices.has(indev)) return [errorReply(m, pid, 19, 'Network device not found')];
        const st = target.state;
        if (op.op === 'add' && op.filter.handle !== undefined) {
          // an add with a chosen handle (the driver's undo of a delete): EEXIST when it is taken
          const taken = st.filters.some((k) => k.hook === op.filter.hook && k.chain === op.filter.chain && k.pref === op.filter.pref && k.handle === op.filter.handle);
          if (taken) return [errorReply(m, pid, 17)];
        }
        const execd: PlanOp = op.op === 'add' && op.filter.handle !== undefined ? { op: 'replace', filter: { ...op.filter, handle: op.filter.handle } } : op;
        const r = execOp(st, execd);
        if (!r.ok) return [refusal(m, pid, r.message)];
        target.set(r.state);
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

function toKernel(filters: readonly SeedFilter[]): KernelFilter[] {
  const out: KernelFilter[] = [];
  for (const f of filters) {
    const handle = f.flower?.handle ?? 1 + Math.max(0, ...out.filter((k) => k.hook === f.hook && k.chain === f.chain && k.pref === f.pref).map((k) => k.handle));
    out.push({ hook: f.hook, chain: f.chain, pref: f.pref, protocol: f.protocol, kind: f.kind, handle, ...(f.flower ? { flower: { ...f.flower, handle } } : {}) });
  }
  return out;
}

/** A refusal of the dry-run kernel model as the kernel words it. */
function refusal(m: NlMsg, pid: number, message: string): Buffer {
  const text = message.replace(/^Error: /, '').replace(/\.$/, '');
  const errno = ERRNO.find(([re]) => re.test(text))![1];
  return errorReply(m, pid, errno, /^RTNETLINK answers/.test(text) ? undefined : text);
}

function tcmsgOf(m: NlMsg): Tcmsg {
  return { ifindex: m.payload.readInt32LE(4), handle: m.payload.readUInt32LE(8), parent: m.payload.readUInt32LE(12), info: m.payload.readUInt32LE(16), attrs: attrMap(m.payload.subarray(TCMSG_LEN), 'request') };
}

/** A request back into the plan op it encodes. */
function planOpOf(m: NlMsg, t: Tcmsg): PlanOp & { filter?: TcFilter } {
  if (m.type === RTM.NEWQDISC) return { op: 'add-qdisc' };
  if (m.type === RTM.DELQDISC) return { op: 'delete-qdisc' };
  const hook: Hook = t.parent === TC_H.MIN_INGRESS || t.ifindex === (TCM_IFINDEX_MAGIC_BLOCK | 0) ? 'ingress' : 'egress';
  const chain = t.attrs.get(TCA.CHAIN) ? getU32(t.attrs.get(TCA.CHAIN)!, 'chain') : 0;
  const protocol = protocolOf(t.info)!;
  const options = t.attrs.get(TCA.OPTIONS) ?? Buffer.alloc(0);
  const o = decodeFlowerOptions(new AttrIndex().load(options, 0, options.length, 'options'));
  const filter: TcFilter = { hook, chain, pref: t.info >>> 16, protocol, match: o.match, actions: o.actions };
  if (m.type === RTM.DELTFILTER) return { op: 'delete', filter: { ...filter, handle: t.handle } };
  if ((m.flags & NLM_F.EXCL) !== 0) return { op: 'add', filter: t.handle === 0 ? filter : { ...filter, handle: t.handle } };
  return { op: 'replace', filter: { ...filter, handle: t.handle } };
}

function qdiscMessage(seq: number, pid: number, ifindex: number, handle: number, parent: number, kind: string, ingressBlock?: number): Buffer {
  const w = new NlWriter();
  const s = w.beginMessage(RTM.NEWQDISC, NLM_F.MULTI, seq, pid);
  w.tcmsg(ifindex, handle, parent, 0);
  w.string(TCA.KIND, kind);
  if (ingressBlock !== undefined) w.u32(TCA.INGRESS_BLOCK, ingressBlock);
  w.endMessage(s);
  return w.finish();
}

/** A dump entry: the header of a chain/pref (no options) or one filter, as the kernel writes them. */
function filterMessage(seq: number, pid: number, ifindex: number, k: KernelFilter, full: boolean, block?: number): Buffer {
  const w = new NlWriter();
  const s = w.beginMessage(RTM.NEWTFILTER, NLM_F.MULTI, seq, pid);
  const protocol = (['all', 'ip', 'ipv6', 'arp', '802.1Q', '802.1ad'] as const).find((p) => p === k.protocol) ?? 'all';
  // a block's filters are dumped with the magic ifindex and the block index as parent
  const [idx, parent] = block === undefined ? [ifindex, hookParent(k.hook)] : [TCM_IFINDEX_MAGIC_BLOCK, block];
  w.tcmsg(idx, full ? k.handle : 0, parent, filterInfo(k.pref, protocol));
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
