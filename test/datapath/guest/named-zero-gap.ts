// Zero gap: while streams of probes run, change everything that makes the agent touch the
// kernel, then count packets against a control period of the same length without changes.
//
//   streams (client and denied are pods; every UDP datagram and TCP connection is a NEW flow,
//   so each one meets the +trk+new rules that a rebuild replaces):
//     allowed-udp   client -> server UDP 7000, 20/s       every datagram must get its reply
//     allowed-tcp   client -> server TCP 7001, 4/s        every connection must echo
//     long-tcp      client -> server TCP 7002, one connection opened BEFORE the changes,
//                   a line echoed 5/s                     it must keep working throughout
//     denied-udp    denied -> server UDP 7000, 20/s       nothing may reach the server
//     denied-tcp    denied -> server TCP 7001             nothing may reach the server
//
//   change period, with the real agent process (`--manifests`, watching the file):
//     1. rebuild: the policies of step 0 - the filters that match the allowed flows
//        (client /32, single ports) are replaced by others (a /30 from an ipBlock with an
//        except, port ranges): make-before-break must keep every new flow allowed
//     2. back to the first policies
//     3. restart: SIGTERM (rules stay), a fresh `--once` process must find nothing to do,
//        then a watching agent with 2 s resyncs runs >= 3 full passes that must change nothing
//   control period: as long as the change period, nothing changes.
//   sensitivity: 1.5 s of a foreign drop-all, then 1.5 s without our qdisc, on the server's
//   representor: the same counters must report lost allowed and passed denied packets.
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyStep } from '../../../core/conformance/load-case.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { clusterManifest } from '../manifests.js';
import { AgentProcess } from './agent-process.js';
import { CaseRun } from './case-run.js';
import type { Ctx } from './context.js';
import type { PeriodCounters, StreamSpec, StreamStats } from './engine.js';
import { desired, opCounts, pending, snapshot } from './installed.js';
import { sleep, tcBatch } from './sh.js';

const GAP_MS = 1500;
/**
 * A probe counts in the period it started in, and a TCP probe waits up to 3 s (probe-engine.py
 * `wait`): the kernel retransmits a dropped SYN after 1 s and 3 s. Before the sensitivity gaps
 * the streams run this long in a period nobody judges, so that no attempt begun in the control
 * period can have its SYN retransmitted into gap-open (no rules) and count as a control pass.
 */
const SETTLE_MS = 4000;

const SUITE = 'zero-gap';

export async function zeroGap(ctx: Ctx): Promise<void> {
  const run = await CaseRun.load(ctx, join(ctx.repo, 'test/datapath/scenarios/zero-gap.yaml'));
  if (!run) return;
  const agents: AgentProcess[] = [];
  try {
    await ctx.engine.ctFlush();
    if (!(await run.build())) return;
    const node = run.c.node;
    const v1 = run.c.cluster;
    const v2 = applyStep(v1, run.c.externals, run.c.steps[0]!).cluster;
    const dir = join(tmpdir(), 'zero-gap-manifests');
    await mkdir(dir, { recursive: true });
    const manifest = join(dir, 'cluster.yaml');
    const write = (c: Cluster): Promise<void> => writeFile(manifest, clusterManifest(c));
    const agentArgs = ['--manifests', dir, '--hostname-override', node, '--network-plugins', 'accelerated-bridge,bond', '--tc-driver', ctx.tcDriver, '-v', '1'];
    const want1 = await desired(ctx.wiring, v1, node);
    const want2 = await desired(ctx.wiring, v2, node);
    const devs = [...new Set([...want1.keys(), ...want2.keys()])];

    /** Polls the kernel until it holds `want` (through the agent's own driver and diff). */
    const settle = async (want: ReadonlyMap<string, readonly TcFilter[]>, what: string, agent: AgentProcess, ms = 120_000): Promise<boolean> => {
      const end = Date.now() + ms;
      let left = new Map<string, string[]>();
      while (Date.now() < end) {
        left = await pending(ctx.wiring, want);
        if (left.size === 0) return ctx.check(SUITE, `${what}: the agent installed the program`, true);
        await sleep(300);
      }
      return ctx.check(SUITE, `${what}: the agent installed the program within ${ms / 1000} s`, false, `${[...left].map(([d, ops]) => `${d}: ${opCounts(ops)}`).join('; ')}\nagent output:\n${agent.tail()}`);
    };

    // --- the agent programs v1
    await write(v1);
    const a = new AgentProcess(agentArgs);
    agents.push(a);
    if (!(await settle(want1, 'start', a))) return;

    // --- streams
    const rep = (ref: string) => run.plan.ends.get(`${ref} default/zg-net`)!;
    const server = rep('zg/server');
    const stream = (sid: string, kind: StreamSpec['kind'], from: string, port: number, rate: number): StreamSpec => {
      const e = rep(from);
      return { sid, kind, ns: e.ns, src: e.ips[0]!, dev: e.dev, dst: server.ips[0]!, dst_ns: server.ns, port, rate, wait: 5 };
    };
    await ctx.engine.listen(server.ns, 'UDP', 7000);
    await ctx.engine.listen(server.ns, 'TCP', 7001);
    await ctx.engine.listen(server.ns, 'TCP', 7002);
    await ctx.engine.period('warmup');
    for (const s of [
      stream('long-tcp', 'tcp-long', 'zg/client', 7002, 5),
      stream('allowed-udp', 'udp-flows', 'zg/client', 7000, 20),
      stream('allowed-tcp', 'tcp-flows', 'zg/client', 7001, 4),
      stream('denied-udp', 'udp-flows', 'zg/denied', 7000, 20),
      stream('denied-tcp', 'tcp-flows', 'zg/denied', 7001, 2),
    ]) await ctx.engine.streamStart(s);
    await sleep(3000);
    const warm = await ctx.engine.streamStats();
    if (!ctx.check(SUITE, 'the allowed streams flow before anything changes', (warm['allowed-udp']?.periods['warmup']?.replied ?? 0) > 0 && (warm['long-tcp']?.periods['warmup']?.replied ?? 0) > 0, JSON.stringify(warm))) return;

    // --- change period
    await ctx.engine.period('change');
    const t0 = Date.now();
    for (const [label, cluster, want] of [
      ['rebuild (step 0 policies)', v2, want2],
      ['restore (first policies)', v1, want1],
    ] as const) {
      const plan = await pending(ctx.wiring, want);
      ctx.info(SUITE, `${label}: plan ${[...plan].map(([d, ops]) => `${d}: ${opCounts(ops)}`).join('; ') || 'empty'}`);
      const rebuilt = [...want].filter(([, f]) => f.length > 0).every(([d]) => (plan.get(d) ?? []).some((o) => o === 'add' || o === 'replace') && (plan.get(d) ?? []).some((o) => o === 'delete' || o === 'replace'));
      ctx.check(SUITE, `${label}: the change replaces filters on both programmed representors (not only additions)`, rebuilt, JSON.stringify([...plan]));
      await write(cluster);
      if (!(await settle(want, label, a))) return;
    }
    const installed = await snapshot(ctx.wiring, devs);
    const codeA = await a.stop();
    ctx.check(SUITE, 'the agent exits 0 on SIGTERM', codeA === 0, `exit ${codeA}\n${a.tail()}`);
    ctx.check(SUITE, 'rules stay installed when the agent stops', sameList(installed, await snapshot(ctx.wiring, devs)), '');

    const b = new AgentProcess([...agentArgs, '--once']);
    agents.push(b);
    const codeB = await b.exited;
    ctx.check(SUITE, 'a fresh agent process (--once) adopts the installed rules: exit 0, empty plan', codeB === 0 && b.changes().length === 0, `exit ${codeB}; changes: ${b.changes().join(' | ')}\n${b.tail()}`);
    ctx.check(SUITE, 'the fresh agent left every filter and handle as it was', sameList(installed, await snapshot(ctx.wiring, devs)), '');

    const c = new AgentProcess([...agentArgs, '--resync-seconds', '2']);
    agents.push(c);
    const fullPasses = (): number => c.passes().filter((p) => p.full === true).length;
    const saw = await c.waitFor(() => fullPasses() >= 3, 120_000);
    const passes = c.passes();
    ctx.check(SUITE, 'a watching agent with 2 s resyncs ran 3 full passes (first pass + 2 resyncs)', saw, `${fullPasses()} full passes seen\n${c.tail()}`);
    ctx.check(SUITE, 'no-op resyncs applied nothing and failed nothing', passes.every((p) => (p.applied ?? 0) === 0 && (p.failed ?? 0) === 0) && c.changes().length === 0, JSON.stringify(passes));
    const codeC = await c.stop();
    ctx.check(SUITE, 'every filter and handle is unchanged after the restart and the resyncs', sameList(installed, await snapshot(ctx.wiring, devs)), '');
    ctx.check(SUITE, 'the watching agent exits 0 on SIGTERM', codeC === 0, `exit ${codeC}`);
    const changeMs = Date.now() - t0;

    // --- control period: same length, nothing changes
    await ctx.engine.period('control');
    await sleep(changeMs);
    await ctx.engine.period('settle');
    await sleep(SETTLE_MS);

    // --- sensitivity: the same counters must see a real gap, both ways
    //   gap-drop: someone else's drop-all in front of our rules on the server's representor
    //   gap-open: our rules on the server's representor gone (deleted qdisc) for a while
    const srv = run.plan.namespaces.find((x) => x.ref === 'zg/server')!.links[0]!.host;
    await ctx.engine.period('gap-drop');
    await tcBatch([`filter add dev ${srv} egress chain 0 pref 1 protocol all matchall action drop`]);
    await sleep(GAP_MS);
    await tcBatch([`filter del dev ${srv} egress chain 0 pref 1 protocol all matchall`]);
    await ctx.engine.period('gap-open');
    await tcBatch([`qdisc del dev ${srv} clsact`]);
    await sleep(GAP_MS);
    await ctx.engine.period('idle');
    // the in-process agent adopts what the processes installed and repairs the deleted qdisc
    await run.program(true, 'adopt after the agent processes, repair the deleted qdisc');
    await sleep(1000);
    const stats = await ctx.engine.streamStop();

    // --- verdicts
    report(ctx, stats, changeMs);
    await run.cleanup();
  } finally {
    for (const a of agents) await a.stop(5_000);
    await ctx.engine.streamStop().catch(() => undefined);
    await run.teardown();
  }
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function report(ctx: Ctx, stats: Record<string, StreamStats>, changeMs: number): void {
  const get = (sid: string, period: string): PeriodCounters => stats[sid]?.periods[period] ?? {};
  const n = (v: number | undefined): number => v ?? 0;
  const secs = (changeMs / 1000).toFixed(1);
  for (const sid of Object.keys(stats)) {
    const s = stats[sid]!;
    if (s.error) ctx.check(SUITE, `stream ${sid} ran to the end`, false, s.error);
  }
  for (const period of ['change', 'control']) {
    const au = get('allowed-udp', period);
    const at = get('allowed-tcp', period);
    const lt = get('long-tcp', period);
    const du = get('denied-udp', period);
    const dt = get('denied-tcp', period);
    const lostUdp = n(au.sent) - n(au.replied);
    const allowedLost = lostUdp + n(at.failed) + n(lt.failed);
    const deniedPassed = n(du.replied) + n(du.server_received) + n(dt.replied) + n(dt.server_received);
    ctx.info(
      SUITE,
      `${period} period (${secs} s): allowed UDP ${n(au.sent)} sent, ${n(au.replied)} replied, ${lostUdp} lost (server got ${n(au.server_received)}, max rtt ${n(au.max_rtt_ms)} ms); ` +
        `allowed TCP connections ${n(at.sent)}, ${n(at.failed)} failed (max ${n(at.max_rtt_ms)} ms); ` +
        `long TCP connection ${n(lt.sent)} echoes, ${n(lt.failed)} failed; ` +
        `denied UDP ${n(du.sent)} sent, ${n(du.server_received)} reached the server; denied TCP ${n(dt.sent)} tried, ${n(dt.server_received)} reached the server`,
    );
    ctx.info(SUITE, `${period} period: ${allowedLost} allowed packets lost, ${deniedPassed} denied packets passed`);
    const ran = n(au.sent) >= 5 && n(at.sent) >= 2 && n(lt.sent) >= 5 && n(du.sent) >= 5 && n(dt.sent) >= 1;
    ctx.check(SUITE, `${period} period: every stream sent traffic`, ran, JSON.stringify({ au, at, lt, du, dt }));
    ctx.check(SUITE, `${period} period: no allowed UDP datagram lost (${n(au.sent)} sent)`, lostUdp === 0 && n(au.server_received) === n(au.sent), `${lostUdp} lost, server received ${n(au.server_received)} of ${n(au.sent)}`);
    ctx.check(SUITE, `${period} period: every allowed TCP connection worked (${n(at.sent)})`, n(at.failed) === 0, `${n(at.failed)} failed`);
    ctx.check(SUITE, `${period} period: the TCP connection opened before the changes kept working (${n(lt.sent)} echoes)`, n(lt.failed) === 0, `${n(lt.failed)} failed`);
    ctx.check(SUITE, `${period} period: no denied packet reached the server`, deniedPassed === 0, `${deniedPassed} passed`);
  }
  const gapDrop = get('allowed-udp', 'gap-drop');
  const gapOpen = [get('denied-udp', 'gap-open'), get('denied-tcp', 'gap-open')].reduce((x, p) => x + n(p.server_received), 0);
  ctx.info(SUITE, `sensitivity: ${GAP_MS} ms of a foreign drop-all: ${n(gapDrop.sent) - n(gapDrop.replied)} of ${n(gapDrop.sent)} allowed UDP datagrams lost; ${GAP_MS} ms without our qdisc: ${gapOpen} denied packets reached the server`);
  ctx.check(SUITE, 'sensitivity: the counters see allowed packets lost during a 1.5 s drop', n(gapDrop.sent) - n(gapDrop.replied) > 0, JSON.stringify(gapDrop));
  ctx.check(SUITE, 'sensitivity: the counters see denied packets pass during 1.5 s without our rules', gapOpen > 0, JSON.stringify({ udp: get('denied-udp', 'gap-open'), tcp: get('denied-tcp', 'gap-open') }));
  const long = stats['long-tcp'];
  // a dropped segment is retransmitted within the echo's 5 s wait, so even the drop does not fail it
  const everFailed = Object.values(long?.periods ?? {}).reduce((x, p) => x + n(p.failed), 0);
  ctx.check(SUITE, 'the long-lived TCP connection never failed, from before the changes to the end', long !== undefined && long.error === null && everFailed === 0 && n(get('long-tcp', 'control').replied) > 0, JSON.stringify(long));
}
