// MultiNetworkPolicy rules that relate two fields, checked after the schema passed (so the
// shapes are known). They mirror the Kubernetes NetworkPolicy API validation.
import type { IPBlock, LabelSelector, MultiNetworkPolicy, PolicyPeer, PolicyPort } from '../k8s.js';
import type { PathSegment } from './field-path.js';
import { cidrStrictlyInside, parseCidr } from './ip.js';
import type { Problem } from './problem.js';

type Path = readonly PathSegment[];

export function selectorProblem(sel: LabelSelector, path: Path): Problem | undefined {
  for (const [i, req] of (sel.matchExpressions ?? []).entries()) {
    const values = req.values ?? [];
    const at = [...path, 'matchExpressions', i, 'values'];
    if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) {
      return { path: at, problem: `must not be empty for operator ${req.operator}` };
    }
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) {
      return { path: at, problem: `must be empty for operator ${req.operator}` };
    }
  }
  return undefined;
}

function ipBlockProblem(block: IPBlock, path: Path): Problem | undefined {
  const cidr = parseCidr(block.cidr);
  if (cidr === undefined) return { path: [...path, 'cidr'], problem: `${JSON.stringify(block.cidr)} is not a valid CIDR` };
  for (const [i, text] of (block.except ?? []).entries()) {
    const ex = parseCidr(text);
    const at = [...path, 'except', i];
    if (ex === undefined) return { path: at, problem: `${JSON.stringify(text)} is not a valid CIDR` };
    if (ex.family !== cidr.family) {
      return { path: at, problem: `${text} is IPv${ex.family} but cidr ${block.cidr} is IPv${cidr.family}` };
    }
    if (!cidrStrictlyInside(ex, cidr)) {
      return { path: at, problem: `${text} must be strictly inside cidr ${block.cidr}` };
    }
  }
  return undefined;
}

function peerProblem(peer: PolicyPeer, path: Path): Problem | undefined {
  const selectors = peer.podSelector !== undefined || peer.namespaceSelector !== undefined;
  if (peer.ipBlock === undefined && !selectors) {
    return { path, problem: 'must set ipBlock, or podSelector and/or namespaceSelector (an empty peer is not allowed)' };
  }
  if (peer.ipBlock !== undefined && selectors) {
    return { path: [...path, 'ipBlock'], problem: 'cannot be combined with podSelector or namespaceSelector in one peer' };
  }
  if (peer.ipBlock !== undefined) return ipBlockProblem(peer.ipBlock, [...path, 'ipBlock']);
  return (
    (peer.podSelector && selectorProblem(peer.podSelector, [...path, 'podSelector'])) ||
    (peer.namespaceSelector && selectorProblem(peer.namespaceSelector, [...path, 'namespaceSelector'])) ||
    undefined
  );
}

function portProblem(p: PolicyPort, path: Path): Problem | undefined {
  if (p.endPort === undefined) return undefined;
  const at = [...path, 'endPort'];
  if (p.port === undefined) return { path: at, problem: 'needs a numeric port (port is not set)' };
  if (typeof p.port === 'string') return { path: at, problem: `needs a numeric port (port is the name ${JSON.stringify(p.port)})` };
  if (p.endPort < p.port) return { path: at, problem: `must be at least port (${p.port}), got ${p.endPort}` };
  return undefined;
}

function rulesProblem(
  rules: readonly { readonly ports?: readonly PolicyPort[]; readonly from?: readonly PolicyPeer[]; readonly to?: readonly PolicyPeer[] }[],
  dir: 'ingress' | 'egress',
): Problem | undefined {
  const peersKey = dir === 'ingress' ? 'from' : 'to';
  for (const [r, rule] of rules.entries()) {
    for (const [i, port] of (rule.ports ?? []).entries()) {
      const p = portProblem(port, ['spec', dir, r, 'ports', i]);
      if (p) return p;
    }
    for (const [i, peer] of (rule[peersKey] ?? []).entries()) {
      const p = peerProblem(peer, ['spec', dir, r, peersKey, i]);
      if (p) return p;
    }
  }
  return undefined;
}

/** The first cross-field problem of a schema-valid policy, in document order. */
export function policyProblem(policy: MultiNetworkPolicy): Problem | undefined {
  const spec = policy.spec;
  return (
    selectorProblem(spec.podSelector, ['spec', 'podSelector']) ??
    rulesProblem(spec.ingress ?? [], 'ingress') ??
    rulesProblem(spec.egress ?? [], 'egress')
  );
}
