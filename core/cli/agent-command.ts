// The agent (no subcommand). Until the watch loop lands, flags are validated and the
// plugins are wired, so a bad flag fails fast exactly as it will in the agent.
import { describeError } from '../api/errors.js';
import type { AgentConfig } from '../config.js';
import { offlineAdapters } from './offline.js';

export async function agentCommand(cfg: AgentConfig, errOut: (s: string) => void): Promise<number> {
  await offlineAdapters(cfg);
  errOut(`multi-networkpolicy-tc: the watch mode is not available in this build; use render, trace or check (${describeError({ code: 'config-invalid', problem: 'no agent loop' })})`);
  return 2;
}
