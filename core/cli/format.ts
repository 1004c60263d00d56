// Human-readable views of rule sets and TC programs for the offline commands.
import type { DirectionRules, Grant, PortSpec, RuleSet } from '../model/rules.js';
import type { TcFilter } from '../model/tc.js';

const portText = (p: PortSpec): string =>
  p.start === undefined ? `${p.protocol} (all ports)` : p.start === p.end ? `${p.protocol} ${p.start}` : `${p.protocol} ${p.start}-${p.end}`;

export const grantText = (g: Grant): string => {
  const peers = g.peers.length > 4 ? `${g.peers.slice(0, 4).join(', ')} (+${g.peers.length - 4} more)` : g.peers.join(', ');
  const ports = g.ports === 'all' ? 'all ports' : g.ports.map(portText).join(', ');
  return `allow ${peers} ${ports}  [${g.policy} rule ${g.rule}]`;
};

function directionLines(name: string, d: DirectionRules | null): string[] {
  if (d === null) return [`${name}: open (no policy isolates it)`];
  const head = `${name}: isolated by ${d.policies.join(', ')}`;
  if (d.grants.length === 0) return [head, '  (nothing allowed)'];
  return [head, ...d.grants.map((g) => `  ${grantText(g)}`)];
}

export function ruleSetLines(rs: RuleSet): string[] {
  return [
    ...directionLines('ingress', rs.ingress),
    ...directionLines('egress', rs.egress),
    ...rs.diagnostics.map((d) => `${d.severity}: ${d.policy ?? ''}${d.field ? ` ${d.field}` : ''}: ${d.detail} (${d.id})`),
  ];
}

export function programSummary(filters: readonly TcFilter[]): string {
  const hooks = (h: string) => filters.filter((f) => f.hook === h).length;
  const pairs = new Set(filters.map((f) => `${f.hook}/${f.chain}/${f.pref}`)).size;
  const chains = new Set(filters.map((f) => `${f.hook}/${f.chain}`)).size;
  return `${filters.length} filters (ingress hook ${hooks('ingress')}, egress hook ${hooks('egress')}), ${chains} chains, ${pairs} chain/pref pairs`;
}
