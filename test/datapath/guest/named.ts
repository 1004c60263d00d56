// The named tests beyond the conformance cases, by the name `--named` takes.
import type { Ctx } from './context.js';
import { noRulesBaseline } from './named-baseline.js';
import { doubleCt } from './named-double-ct.js';
import { ownership } from './named-ownership.js';
import { switchdev } from './named-switchdev.js';
import { zeroGap } from './named-zero-gap.js';

export const NAMED_TESTS: Readonly<Record<string, (ctx: Ctx) => Promise<void>>> = {
  'no-rules-baseline': noRulesBaseline,
  'double-ct': doubleCt,
  ownership,
  'zero-gap': zeroGap,
  switchdev,
};
