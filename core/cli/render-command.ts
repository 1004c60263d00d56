// `render`: what this node would program, per attachment: rule sets and the exact tc batch.
import { toBatchLines } from '../../drivers/tc-cmdline/batch.js';
import type { AgentConfig } from '../config.js';
import { diff } from '../pipeline/diff.js';
import { programSummary, ruleSetLines } from './format.js';
import { blockTarget } from '../pipeline/program-switch.js';
import { loadCluster, offlineNetdevs, offlineSwitches, programFor, UsageError } from './offline.js';

const NOTHING_INSTALLED = { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } } as const;

export async function renderCommand(cfg: AgentConfig, node: string | undefined, output: string, out: (s: string) => void): Promise<number> {
  if (!node) throw new UsageError('render needs --node <name>');
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, not ${output}`);
  const cluster = await loadCluster(cfg.manifests ?? []);
  const np = await programFor(cfg, cluster, node);
  const switches = offlineSwitches(cfg, np);
  const views = np.programs.map((p) => {
    const netdevs = offlineNetdevs(p.endpoint.attachment);
    const batch = switches ? [] : netdevs.flatMap((dev) => toBatchLines({ name: dev }, diff(p.compiled.filters, NOTHING_INSTALLED).plan));
    return { p, netdevs, batch };
  });
  const blocks = (switches ?? []).map((sp) => {
    const target = blockTarget(sp);
    const none = { ...NOTHING_INSTALLED, ports: sp.block.ports.map((name) => ({ name, state: 'absent' as const })) };
    return { sp, batch: toBatchLines(target, diff(sp.compiled.filters, none).plan) };
  });
  if (output === 'json') {
    out(
      JSON.stringify(
        {
          node,
          endpoints: views.map(({ p, netdevs, batch }) => ({
            endpoint: p.endpoint.key,
            pod: `${p.endpoint.pod.namespace}/${p.endpoint.pod.name}`,
            network: p.endpoint.attachment.network,
            interface: p.endpoint.attachment.interface,
            netdevs,
            rules: p.rules,
            ...(switches ? {} : { filters: p.compiled.filters, batch }),
          })),
          ...(switches ? { blocks: blocks.map(({ sp, batch }) => ({ block: sp.block.index, eswitch: sp.eswitch.id, uplink: sp.eswitch.uplink, ports: sp.block.ports, ctZone: sp.ctZone, members: sp.members.map((m) => ({ endpoint: m.endpoint, ports: m.ports, addresses: m.addresses })), filters: sp.compiled.filters, diagnostics: sp.compiled.diagnostics, batch })) } : {}),
          skipped: np.skipped,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  out(`# node ${node}: ${np.programs.length} attachments enforced, ${np.skipped.length} interfaces skipped`);
  for (const s of np.skipped) out(`# skipped ${s.pod}${s.network ? ` ${s.network}` : ''}: ${s.reason} (${s.detail})`);
  for (const { p, netdevs, batch } of views) {
    out('');
    out(`== ${p.endpoint.pod.namespace}/${p.endpoint.pod.name} ${p.endpoint.attachment.interface} on ${p.endpoint.attachment.network} -> ${netdevs.join(', ')}`);
    for (const l of ruleSetLines(p.rules)) out(l);
    if (switches) continue;
    if (p.compiled.filters.length === 0) {
      out('tc: nothing to install (no policy applies)');
      continue;
    }
    out(`tc: ${programSummary(p.compiled.filters)}`);
    for (const l of batch) out(`  ${l}`);
  }
  for (const { sp, batch } of blocks) {
    out('');
    out(`== shared block ${sp.block.index} of switch ${sp.eswitch.id} (uplink ${sp.eswitch.uplink}, ct zone ${sp.ctZone}): ports ${sp.block.ports.join(', ')}`);
    for (const d of sp.compiled.diagnostics) out(`# ${d.id}: ${d.detail}`);
    if (sp.compiled.filters.length === 0) {
      out('tc: nothing to install (no policy isolates a pod on this switch)');
      continue;
    }
    out(`tc: ${programSummary(sp.compiled.filters)}`);
    for (const l of batch) out(`  ${l}`);
  }
  return 0;
}
