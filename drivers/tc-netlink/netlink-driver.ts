// The netlink TC driver: rtnetlink over one AF_NETLINK socket (opened on first use, kept,
// closed by dispose or after a transport failure), no child processes. Pure encode.ts /
// decode.ts do the bytes; this file sequences requests.
//
//   observe:  RTM_GETLINK name → ifindex; RTM_GETQDISC dump → clsact | ingress | none;
//             RTM_GETTFILTER dump of the ingress hook, and of the egress hook on clsact
//   apply:    the whole plan encoded first (a bug upstream throws before anything is sent);
//             RTM_GETLINK; the plan in windows (windows.ts), each one sendto with only its
//             last op asking for an ACK; stop at the first failed op like `tc -batch`:
//             later windows are never sent, and the ops after it in its own window (which
//             the kernel has already run) are undone in reverse order; the error names the
//             failed op's line (its `tc -batch` text, 1-based like the cmdline driver) and
//             carries the kernel's extended ACK text.
//
// A shared block (`dev.block`, name `block:<index>`) instead:
//   observe:  RTM_GETLINK of each port (a missing one is an error naming it); one qdisc dump
//             (each port's clsact/ingress qdisc and its TCA_INGRESS_BLOCK); a filter dump of
//             both hooks of a port with an unbound clsact (rebindable only when empty); a
//             dump of the block's filters (TCM_IFINDEX_MAGIC_BLOCK, every chain). Ports are
//             classified by drivers/shared/port-binding.ts, as the cmdline driver does.
//   apply:    filter ops address the block; a `bind` is alone in its window and goes to its
//             port (RTM_NEWQDISC clsact + TCA_INGRESS_BLOCK; `replace`: RTM_DELQDISC of the
//             port's empty clsact first); add-qdisc / delete-qdisc are refused.
//
// Errors: a kernel refusal of a plan op is `tc-batch-failed` (the same code and fields as the
// cmdline driver, so the reconciler and the logs treat both alike); a failed query or a
// socket/protocol failure is `netlink-failed`; a reply that cannot be decoded is `tc-parse-failed`.
import { inject, injectable, optional } from 'inversify';
import type { AgentError } from '../../core/api/errors.js';
import { Logger } from '../../core/api/ports.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev, SharedBlock } from '../../core/model/attachment.js';
import type { Applied, Plan, PlanOp } from '../../core/model/plan.js';
import type { Hook, ObservedTc, TcFilter } from '../../core/model/tc.js';
import { filterIdentity } from '../../core/model/tc.js';
import { countApplied } from '../shared/applied.js';
import { isBlockIndex, observedBlock, ownHook, planProblem, type PortObservation } from '../shared/block-target.js';
import { toBatchOpLines } from '../tc-cmdline/batch.js';
import { assertIfname } from '../tc-cmdline/ifname.js';
import { NlWriter } from './attr.js';
import { TCM_IFINDEX_MAGIC_BLOCK } from './constants.js';
import { decodeFilterDump, decodeFilterEntry, decodeLink, decodePortQdiscs, decodeQdiscDump, type HookFilters } from './decode.js';
import { encodeAddWithHandle, encodeDumpFilters, encodeDumpQdiscs, encodeGetLink, encodeOp, encodeWindows, stampWindow } from './encode.js';
import { ENODEV, strerror } from './errno.js';
import type { NlMsg, NlStatus } from './message.js';
import { DEFAULT_RECEIVE_TIMEOUT_MS, DEFAULT_WINDOW_OPS, NetlinkOptions } from './options.js';
import { describeStatus, NetlinkSession, type TransportFailure } from './session.js';
import { NetlinkSocketFactory } from './socket.js';
import { planWindows } from './windows.js';

/** A dump the kernel marks interrupted (the state changed under it) is repeated this often. */
const DUMP_ATTEMPTS = 3;

@injectable()
export class NetlinkTcDriver implements TcDriver {
  readonly name = 'netlink';
  private readonly log: Logger;
  private readonly receiveTimeoutMs: number;
  private readonly windowOps: number;
  private session: NetlinkSession | undefined;
  private broken = false;

  constructor(
    @inject(NetlinkSocketFactory) private readonly openSocket: NetlinkSocketFactory,
    @inject(Logger) root: Logger,
    @inject(NetlinkOptions) @optional() options: NetlinkOptions = {},
  ) {
    this.log = root.child({ component: 'driver', driver: 'netlink' });
    this.receiveTimeoutMs = options.receiveTimeoutMs ?? DEFAULT_RECEIVE_TIMEOUT_MS;
    this.windowOps = options.windowOps ?? DEFAULT_WINDOW_OPS;
  }

  /** Closes the socket; the next call opens a new one. */
  dispose(): void {
    this.session?.socket.close();
    this.session = undefined;
    this.broken = false;
  }

  async observe(dev: Netdev): Promise<Result<ObservedTc>> {
    if (dev.block !== undefined) return this.observeBlock(dev.name, dev.block);
    const name = assertIfname(dev.name);
    const s = this.open(name);
    if (!s.ok) return s;
    const ifindex = this.resolve(s.value, name);
    if (!ifindex.ok) return ifindex;
    const q = this.dump(s.value, name, 'RTM_GETQDISC dump', (w, seq) => encodeDumpQdiscs(w, ifindex.value, seq));
    if (!q.ok) return q;
    const qdisc = decodeQdiscDump(q.value, ifindex.value);
    if (!qdisc.ok) return err({ code: 'tc-parse-failed', netdev: name, problem: `qdisc dump: ${qdisc.problem}` });
    // no qdisc: no filters either; a plain ingress qdisc has no egress hook (a dump of it
    // would list the ingress filters again)
    if (qdisc.value === null) return ok({ qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } });
    const port = decodePortQdiscs(q.value, [ifindex.value]);
    if (!port.ok) return err({ code: 'tc-parse-failed', netdev: name, problem: `qdisc dump: ${port.problem}` });
    const block = port.value.get(ifindex.value)?.ingressBlock;
    const ingress = ownHook(this.dumpHook(s.value, name, ifindex.value, 'ingress'), block);
    if (!ingress.ok) return ingress;
    const egress = qdisc.value === 'clsact' ? this.dumpHook(s.value, name, ifindex.value, 'egress') : ok({ owned: [], foreign: 0 });
    if (!egress.ok) return egress;
    const observed: ObservedTc = {
      qdisc: qdisc.value,
      filters: [...ingress.value.owned, ...egress.value.owned],
      foreign: { ingress: ingress.value.foreign, egress: egress.value.foreign },
      ...(block === undefined ? {} : { ingressBlock: block }),
    };
    this.log.debug({ netdev: name, qdisc: observed.qdisc, owned: observed.filters.length, foreign: observed.foreign }, 'tc state observed');
    return ok(observed);
  }

  async apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    const block = dev.block === undefined ? undefined : blockIndex(dev.block);
    const name = block === undefined ? assertIfname(dev.name) : dev.name;
    if (plan.ops.length === 0) return ok(countApplied(plan));
    // the ops a target cannot take (a qdisc op on a block, a bind on a netdev), as the cmdline driver decides
    const problem = planProblem(dev, plan);
    if (problem !== undefined) return err({ code: 'hook-unavailable', netdev: name, problem });
    // the `tc -batch` text of an op names it in errors, as the cmdline driver's do (a
    // replacing bind is two lines there: `qdisc del ...; qdisc add ...` here)
    const line = (i: number): string => toBatchOpLines(dev, { ops: [plan.ops[i]!] })[0]!.join('; ');
    const windows = planWindows(plan.ops, this.windowOps);
    const encoded = encodeWindows(plan.ops, windows, block); // a bug upstream throws here, before anything is sent
    const s = this.open(name);
    if (!s.ok) return s;
    // a block's filters are addressed by its index; its ports only by the binds
    const ifindex = block === undefined ? this.resolve(s.value, name) : ok(TCM_IFINDEX_MAGIC_BLOCK);
    if (!ifindex.ok) return ifindex;
    this.log.debug({ netdev: name, ops: plan.ops.length, windows: windows.length }, 'netlink plan');
    for (const [n, win] of windows.entries()) {
      const enc = encoded[n]!;
      const first = plan.ops[win.start]!;
      let target = ifindex.value;
      if (first.op === 'bind') {
        const port = this.prepareBind(s.value, name, first, win.start + 1, line(win.start));
        if (!port.ok) return port;
        target = port.value;
      }
      const seqs = enc.starts.map(() => s.value.nextSeq());
      stampWindow(enc, target, seqs);
      const r = s.value.exchange(enc.buf, seqs[0]!, seqs[seqs.length - 1]!);
      if (!r.ok) {
        const unknown = `ops ${win.start + 1}..${win.end} (${line(win.start)}${win.end - win.start > 1 ? ' ...' : ''}) may or may not have been applied; ops before ${win.start + 1} were`;
        return this.transportFailed(name, 'apply', r.failure, unknown);
      }
      const failedAt = seqs.findIndex((seq) => r.value.has(seq));
      if (failedAt < 0) continue;
      const index = win.start + failedAt;
      const status = r.value.get(seqs[failedAt]!)!;
      // the kernel ran the window's later ops; undo the ones that succeeded, last first
      const ran = seqs.map((seq, k) => ({ k, seq })).filter(({ k, seq }) => k > failedAt && !r.value.has(seq)).map(({ k }) => win.start + k);
      const notes = this.undo(s.value, name, ifindex.value, plan.ops, line, ran.reverse(), block);
      if (first.op === 'bind' && first.replace) notes.push(`${first.port} is left without a qdisc: its empty clsact was deleted before the bind`);
      this.log.debug({ netdev: name, line: index + 1, errno: status.errno, undone: ran.length }, 'netlink plan op refused');
      return err({ code: 'tc-batch-failed', netdev: name, line: index + 1, text: line(index), stderr: [describeStatus(status), ...notes].join('\n') });
    }
    return ok(countApplied(plan));
  }

  // ---- shared blocks

  private async observeBlock(name: string, block: SharedBlock): Promise<Result<ObservedTc>> {
    const index = blockIndex(block);
    const s = this.open(name);
    if (!s.ok) return s;
    const ifindexes: number[] = [];
    for (const port of block.ports) {
      const r = this.resolvePort(s.value, name, port);
      if (!r.ok) return r;
      ifindexes.push(r.value);
    }
    const q = this.dump(s.value, name, 'RTM_GETQDISC dump', (w, seq) => encodeDumpQdiscs(w, ifindexes[0] ?? 0, seq));
    if (!q.ok) return q;
    const qdiscs = decodePortQdiscs(q.value, ifindexes);
    if (!qdiscs.ok) return err({ code: 'tc-parse-failed', netdev: name, problem: `qdisc dump: ${qdiscs.problem}` });
    const ports: PortObservation[] = [];
    for (const [i, port] of block.ports.entries()) {
      const qdisc = qdiscs.value.get(ifindexes[i]!) ?? null;
      let foreign = 0;
      // only an unbound clsact's filters decide anything (rebindable when none is someone else's)
      if (qdisc !== null && qdisc.kind === 'clsact' && qdisc.ingressBlock === undefined) {
        for (const hook of ['ingress', 'egress'] as const) {
          const h = this.dumpHook(s.value, port, ifindexes[i]!, hook);
          if (!h.ok) return h;
          foreign += h.value.foreign;
        }
      }
      ports.push({ name: port, qdisc, foreign });
    }
    const f = this.dumpHook(s.value, name, TCM_IFINDEX_MAGIC_BLOCK, 'ingress', index);
    if (!f.ok) return f;
    const observed = observedBlock(block, ports, f.value.owned, f.value.foreign);
    this.log.debug({ netdev: name, ports: observed.ports!.map((p) => `${p.name}:${p.state}`), owned: observed.filters.length, foreign: observed.foreign }, 'tc state observed');
    return ok(observed);
  }

  /** A port's ifindex; a port that does not exist is an error naming it and its block. */
  private resolvePort(s: NetlinkSession, block: string, port: string): Result<number> {
    const r = this.resolve(s, assertIfname(port));
    if (r.ok || r.error.code !== 'netlink-failed') return r;
    return err({ ...r.error, message: `${r.error.message}; it is a port of ${block}` });
  }

  /**
   * Before a bind's window: the port's ifindex, and for `replace` its empty clsact deleted
   * (nothing of others' can be lost: diff binds with replace only a clsact without a block
   * whose filters, if any, are the agent's own per-port program).
   */
  private prepareBind(s: NetlinkSession, name: string, op: Extract<PlanOp, { op: 'bind' }>, lineNo: number, text: string): Result<number> {
    const port = this.resolvePort(s, name, op.port);
    if (!port.ok || !op.replace) return port;
    const w = new NlWriter(64);
    const seq = s.nextSeq();
    encodeOp(w, { op: 'delete-qdisc' }, port.value, seq, true);
    const r = s.exchange(w.finish(), seq, seq);
    if (!r.ok) return this.transportFailed(name, 'apply', r.failure, `line ${lineNo} (${text}): the clsact of ${op.port} may or may not have been deleted`);
    const status = r.value.get(seq);
    if (status) return err({ code: 'tc-batch-failed', netdev: name, line: lineNo, text, stderr: `deleting the clsact of ${op.port} before binding it: ${describeStatus(status)}` });
    return port;
  }

  // ---- helpers

  private open(netdev: string): Result<NetlinkSession> {
    if (this.session) return ok(this.session);
    const r = this.openSocket({ receiveTimeoutMs: this.receiveTimeoutMs });
    if (!r.ok) return err({ code: 'netlink-failed', netdev, op: r.error.call, errno: r.error.errno, message: r.error.message });
    this.session = new NetlinkSession(r.value, this.receiveTimeoutMs);
    return ok(this.session);
  }

  /** The device's ifindex, asked afresh for every observe and apply (a name can move to a new device). */
  private resolve(s: NetlinkSession, name: string): Result<number> {
    const w = new NlWriter(64);
    const seq = s.nextSeq();
    encodeGetLink(w, name, seq);
    const r = s.query(w.finish(), seq, false);
    if (!r.ok) return this.transportFailed(name, 'RTM_GETLINK', r.failure);
    if (r.value.status.errno !== 0) return queryRefused(name, 'RTM_GETLINK', r.value.status);
    const link = decodeLink(r.value.messages[0]!);
    if (!link.ok) return err({ code: 'tc-parse-failed', netdev: name, problem: `link reply: ${link.problem}` });
    return ok(link.value.ifindex);
  }

  /** The filters of one hook, or of a shared block (`block`: its index; `ifindex` ignored). */
  private dumpHook(s: NetlinkSession, name: string, ifindex: number, hook: Hook, block?: number): Result<HookFilters> {
    const what = block === undefined ? hook : `block ${block}`;
    const r = this.dump(s, name, `RTM_GETTFILTER dump ${what}`, (w, seq) => encodeDumpFilters(w, ifindex, hook, seq, undefined, block));
    if (!r.ok) return r;
    const d = decodeFilterDump(r.value, hook);
    return d.ok ? ok(d.value) : err({ code: 'tc-parse-failed', netdev: name, problem: d.problem });
  }

  /** A whole dump, repeated when the kernel says it was interrupted by a change. */
  private dump(s: NetlinkSession, name: string, op: string, build: (w: NlWriter, seq: number) => void): Result<NlMsg[]> {
    for (let attempt = 1; ; attempt++) {
      const w = new NlWriter(64);
      const seq = s.nextSeq();
      build(w, seq);
      const r = s.query(w.finish(), seq, true);
      if (!r.ok) return this.transportFailed(name, op, r.failure);
      if (r.value.status.errno !== 0) return queryRefused(name, op, r.value.status);
      if (!r.value.interrupted) return ok([...r.value.messages]);
      if (attempt === DUMP_ATTEMPTS) return err({ code: 'netlink-failed', netdev: name, op, errno: 4, message: `the state kept changing during ${DUMP_ATTEMPTS} dumps (NLM_F_DUMP_INTR)` });
    }
  }

  /** After a transport failure the socket may hold stale replies: it is closed, the next call opens a new one. */
  private transportFailed<T>(netdev: string, op: string, f: TransportFailure, consequence?: string): Result<T> {
    this.dispose();
    const message = f.kind === 'socket' ? `${f.call}: ${f.message}` : `unexpected reply: ${f.problem}`;
    const error: AgentError = { code: 'netlink-failed', netdev, op, errno: f.kind === 'socket' ? f.errno : 71, message: consequence ? `${message}; ${consequence}` : message };
    this.log.warn({ netdev, op, error: error.message }, 'netlink socket reset');
    return err(error);
  }

  /**
   * Reverses ops the kernel ran after a failed one in the same window, last first: an add
   * is deleted again (its handle found by a dump of its chain/pref/protocol), a delete is
   * re-created with its handle. Returns a line per op for the error text.
   */
  private undo(s: NetlinkSession, name: string, ifindex: number, ops: readonly PlanOp[], line: (i: number) => string, indices: readonly number[], block: number | undefined): string[] {
    if (indices.length === 0) return [];
    const notes: string[] = [];
    let undone = 0;
    for (const i of indices) {
      const op = ops[i]!;
      const problem = op.op === 'add' ? this.undoAdd(s, ifindex, op.filter, block) : op.op === 'delete' ? this.request(s, (w, seq) => encodeAddWithHandle(w, op.filter, op.filter.handle, ifindex, seq, block)) : `a ${op.op} cannot be undone`;
      if (problem === undefined) undone++;
      else notes.push(`line ${i + 1} (${line(i)}) ran after the failed op and could not be undone: ${problem}`);
    }
    notes.unshift(`${indices.length} later op(s) of the same netlink batch ran in the kernel; ${undone} undone`);
    if (undone < indices.length) this.log.warn({ netdev: name, notUndone: indices.length - undone }, 'netlink batch partly undone');
    if (this.broken) this.dispose();
    return notes;
  }

  private undoAdd(s: NetlinkSession, ifindex: number, f: TcFilter, block: number | undefined): string | undefined {
    const w = new NlWriter(64);
    const seq = s.nextSeq();
    encodeDumpFilters(w, ifindex, f.hook, seq, { chain: f.chain, pref: f.pref, protocol: f.protocol }, block);
    const r = s.query(w.finish(), seq, true);
    if (!r.ok) return this.failed(r.failure);
    if (r.value.status.errno !== 0) return describeStatus(r.value.status);
    const id = filterIdentity(f);
    let handle: number | undefined;
    try {
      for (const m of r.value.messages) {
        const e = decodeFilterEntry(m, f.hook);
        if (e.kind === 'flower' && filterIdentity(e.filter) === id) handle = e.filter.handle;
      }
    } catch (e) {
      return `cannot read its chain back: ${(e as Error).message}`;
    }
    if (handle === undefined) return 'not found in its chain any more';
    return this.request(s, (w2, seq2) => encodeOp(w2, { op: 'delete', filter: { ...f, handle } }, ifindex, seq2, true, block));
  }

  /** One change with an ACK; the problem, or undefined when the kernel accepted it. */
  private request(s: NetlinkSession, build: (w: NlWriter, seq: number) => void): string | undefined {
    const w = new NlWriter(256);
    const seq = s.nextSeq();
    build(w, seq);
    const r = s.exchange(w.finish(), seq, seq);
    if (!r.ok) return this.failed(r.failure);
    const status = r.value.get(seq);
    return status ? describeStatus(status) : undefined;
  }

  /** A transport failure while undoing: noted, and the socket is reset once the undo is over. */
  private failed(f: TransportFailure): string {
    this.broken = true;
    return describeFailure(f);
  }
}

/** A block index the kernel accepts (u32, never 0); anything else is a bug upstream. */
function blockIndex(b: SharedBlock): number {
  if (!isBlockIndex(b.index)) throw new Error(`not a shared block index: ${b.index}`);
  return b.index;
}

function queryRefused<T>(netdev: string, op: string, status: NlStatus): Result<T> {
  const message = status.errno === ENODEV && op === 'RTM_GETLINK' ? `no such device (${describeStatus(status)})` : (status.message ?? strerror(status.errno));
  return err({ code: 'netlink-failed', netdev, op, errno: status.errno, message });
}

const describeFailure = (f: TransportFailure): string => (f.kind === 'socket' ? `${f.call}: ${f.message}` : `unexpected reply: ${f.problem}`);
