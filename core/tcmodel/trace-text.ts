// One line per step of a classification, for `trace` output and test failure messages.
import { matchKey, type TcAction } from '../model/tc.js';
import type { HookRun, Step } from './classify.js';
import type { HopRun } from './probe.js';
import { isIpFrame, type Frame } from './packet.js';

function actionText(a: TcAction): string {
  switch (a.kind) {
    case 'pass':
    case 'drop':
      return a.kind;
    case 'goto':
      return `goto chain ${a.chain}`;
    case 'ct':
      return `ct${a.commit ? ' commit' : ''} zone ${a.zone}`;
  }
}

export function describeStep(step: Step): string {
  if (step.kind === 'no-match') return `${step.hook} chain ${step.chain}: no filter matches, classification ends (pass)`;
  const f = step.filter;
  const keys = matchKey(f.match);
  const actions = step.actions.map((t) => (t.note === undefined ? actionText(t.action) : `${actionText(t.action)} (${t.note})`));
  return `${step.hook} chain ${step.chain} pref ${step.pref} protocol ${f.protocol}${keys === '' ? '' : ` ${keys}`}: ${actions.join(', ')}`;
}

export function describeHookRun(run: HookRun): string[] {
  return [...run.path.map(describeStep), `=> ${run.verdict}`];
}

/** A hop of a path: where it ran (and the port the frame came in through, on a shared block), then its steps. */
export function describeHopRun(h: HopRun): string[] {
  const where = h.hop.at ?? `${h.hop.side} ${h.hop.hook} hook`;
  return [`${where}${h.hop.indev !== undefined ? `, entered through ${h.hop.indev}` : ''}:`, ...describeHookRun(h.run).map((l) => `  ${l}`)];
}

export function describeFrame(f: Frame): string {
  const tag = f.encapsulation === 'untagged' ? '' : `[${f.encapsulation}] `;
  if (!isIpFrame(f)) return `${tag}${f.ethertype}`;
  const ports = f.dstPort !== undefined ? ` ${f.srcPort ?? '?'} -> ${f.dstPort}` : '';
  const icmp = f.icmpType !== undefined ? ` type ${f.icmpType}` : '';
  const seg = f.segment !== undefined ? ` (${f.segment})` : '';
  return `${tag}${f.ethertype} ${f.l4} ${f.src} -> ${f.dst}${ports}${icmp}${seg}`;
}
