// `trace`: is one connection allowed, and by which policy and rule? Decided on the compiled
// program like `check`, explained from the rule sets, with the path through the filters.
import type { AgentConfig } from '../config.js';
import { decide, portsOf, resolveEnd } from '../conformance/decide.js';
import type { L4Protocol } from '../model/k8s.js';
import type { Probe } from '../model/probe.js';
import { loadCluster, offlineSwitches, programFor, UsageError } from './offline.js';
import { blockRoute } from '../tcmodel/block-route.js';
import { newConntrackTable } from '../tcmodel/conntrack.js';
import { decideConnectionAlong, portRoute } from '../tcmodel/probe.js';
import { describeHopRun } from '../tcmodel/trace-text.js';

export interface TraceArgs {
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly network: string | undefined;
  readonly port: string | undefined;
  readonly family: string | undefined;
  readonly node: string | undefined;
}

export function parseProbe(a: TraceArgs): Probe {
  for (const k of ['from', 'to', 'network', 'port'] as const) if (!a[k]) throw new UsageError(`trace needs --${k}`);
  const m = /^(\d{1,5})(?:\/(TCP|UDP|SCTP))?$/i.exec(a.port!);
  const port = m ? Number(m[1]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`--port ${a.port}: expected <1-65535>[/TCP|UDP|SCTP]`);
  const family = a.family ?? 'ipv4';
  if (family !== 'ipv4' && family !== 'ipv6') throw new UsageError(`--family ${family}: expected ipv4 or ipv6`);
  for (const k of ['from', 'to', 'network'] as const) if (!/^[^/\s]+\/[^/\s]+$/.test(a[k]!)) throw new UsageError(`--${k} ${a[k]}: expected namespace/name`);
  return { from: a.from!, to: a.to!, network: a.network!, family, protocol: (m[2]?.toUpperCase() ?? 'TCP') as L4Protocol, port };
}

export async function traceCommand(cfg: AgentConfig, a: TraceArgs, out: (s: string) => void): Promise<number> {
  const probe = parseProbe(a);
  const cluster = await loadCluster(cfg.manifests ?? []);
  const srcPod = cluster.pods.find((p) => `${p.metadata.namespace}/${p.metadata.name}` === probe.from);
  const node = a.node ?? srcPod?.spec.nodeName ?? cluster.pods.find((p) => `${p.metadata.namespace}/${p.metadata.name}` === probe.to)?.spec.nodeName;
  if (!node) throw new UsageError(`cannot tell the node: pass --node (neither ${probe.from} nor ${probe.to} has spec.nodeName)`);
  const np = await programFor(cfg, cluster, node);
  const switches = offlineSwitches(cfg, np);
  const d = decide(np, [], probe, 40000, switches);
  if (d.problem) throw new UsageError(`${d.problem}`);
  out(`${d.verdict.toUpperCase()} ${probe.from} -> ${probe.to} ${probe.protocol}/${probe.port} ${probe.family} on ${probe.network} (node ${node})`);
  for (const part of d.reason.split('; ')) out(`  ${part}`);
  // the path of the opening frame through each program, as the kernel would walk it
  const src = resolveEnd(np, [], probe.from, probe);
  const dst = resolveEnd(np, [], probe.to, probe);
  if (typeof src !== 'string' && typeof dst !== 'string') {
    const prog = (e: typeof src) => (e.program && e.program.compiled.filters.length > 0 ? { filters: e.program.compiled.filters } : null);
    // per-port: the two representors' hooks; shared block: the block where each frame enters
    const route = switches ? blockRoute(portsOf(src, switches)[0] ?? null, portsOf(dst, switches)[0] ?? null) : portRoute(prog(src), prog(dst));
    const macs = { ...(src.mac !== undefined ? { srcMac: src.mac } : {}), ...(dst.mac !== undefined ? { dstMac: dst.mac } : {}) };
    const c = decideConnectionAlong(route, { family: probe.family, protocol: probe.protocol, srcIp: src.ip, dstIp: dst.ip, srcPort: 40000, dstPort: probe.port, ...macs }, newConntrackTable());
    if (c.ok) {
      for (const x of c.value.exchange) {
        out(`${x.role} frame ${x.backwards ? `${probe.to} -> ${probe.from}` : `${probe.from} -> ${probe.to}`}: ${x.delivery.delivered ? 'delivered' : 'dropped'}`);
        for (const hop of x.delivery.hops) for (const l of describeHopRun(hop)) out(`    ${l}`);
      }
    }
  }
  return d.verdict === 'allow' ? 0 : 1;
}
