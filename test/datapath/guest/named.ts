// The named tests beyond the conformance cases, by the name `--named` takes, and the layouts
// (`--layout`) each one runs under: `--named all` runs those of the run's layout.
import type { Ctx } from './context.js';
import type { LabLayout } from '../lab-layout.js';
import { noRulesBaseline } from './named-baseline.js';
import { doubleCt } from './named-double-ct.js';
import { forgedSource } from './named-forged-source.js';
import { offload } from './named-offload.js';
import { ownership } from './named-ownership.js';
import { switchdev } from './named-switchdev.js';
import { zeroGap } from './named-zero-gap.js';

export interface NamedTest {
  readonly run: (ctx: Ctx) => Promise<void>;
  readonly layouts: readonly LabLayout[];
}

const PER_PORT: readonly LabLayout[] = ['per-port'];

export const NAMED_TESTS: Readonly<Record<string, NamedTest>> = {
  'no-rules-baseline': { run: noRulesBaseline, layouts: ['per-port', 'shared-block'] },
  // these check the per-port program's hooks (egress-hook drops, foreign filters beside ours,
  // make-before-break on a representor, the per-port program on netdevsim)
  'double-ct': { run: doubleCt, layouts: PER_PORT },
  ownership: { run: ownership, layouts: PER_PORT },
  'zero-gap': { run: zeroGap, layouts: PER_PORT },
  switchdev: { run: switchdev, layouts: PER_PORT },
  'forged-source': { run: forgedSource, layouts: ['per-port', 'shared-block'] },
  // compiles both layouts itself; it belongs to the shared-block run
  offload: { run: offload, layouts: ['shared-block'] },
};

/** The names `--named` selects under `layout` (`all`: every test of the layout, `none`, or a comma list). */
export function selectNamed(named: string, layout: LabLayout): string[] {
  if (named === 'none') return [];
  if (named === 'all') return Object.keys(NAMED_TESTS).filter((n) => NAMED_TESTS[n]!.layouts.includes(layout));
  return named.split(',').filter((n) => n !== '');
}
