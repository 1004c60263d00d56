// multi-networkpolicy-tc: the agent (no subcommand) and the offline commands.
// Errors a user can cause end in one line on stderr and a non-zero exit, never a stack.
import 'reflect-metadata';
import { BUILTIN_ADAPTERS, validateConfig, type AgentConfig } from '../config.js';
import { configInput, parse } from './args.js';
import { UsageError } from './offline.js';
import { renderCommand } from './render-command.js';
import { traceCommand } from './trace-command.js';
import { checkCommand } from './check-command.js';
import { agentCommand } from './agent-command.js';
import { statusCommand } from './status-command.js';

export const HELP = `Usage: multi-networkpolicy-tc [command] [flags]

Enforces MultiNetworkPolicy on SR-IOV VF representors with TC flower filters.

Commands:
  (none)      run the node agent (watches the cluster, or --manifests offline)
  render      --manifests <file|dir>... --node <name> [--output text|json]
              the rule sets and the exact tc batch this node would apply
  trace       --manifests ... --from ns/pod --to ns/pod --network ns/net --port 5555/TCP [--family ipv6]
              allow or deny, and which policy and rule decided it (exit 0 allow, 1 deny)
  check       <case-file|dir>... [--json]
              run conformance case files at decision level through the compiled TC program
              (all built-in adapters unless --network-plugins is given)
  status      [--manifests ... | --kubeconfig ...] [--node <name>] [--output text|json]
              this node's attachments, representors, policies, installed filters with their
              offload (in_hw) state, and drift (exit 0 in sync, 1 drift or problems)

Flags (as upstream):
  --kubeconfig <path>          kubeconfig file (else --master alone, else in-cluster)
  --master <url>               API server URL
  --hostname-override <name>   this node's name (default: the host name)
  --network-plugins <a,b>      CNI adapters to enforce (default accelerated-bridge; also: bond, sriov)
  --pod-rules-path <dir>       write <dir>/<podUID>/<network>-<representor>.rules
  --tc-driver <name>           cmdline (default), dry-run
  -v <n>                       log verbosity (klog style)
Flags (ours):
  --manifests <file|dir>       read objects from files instead of the API server (repeatable)
  --stateless                  no conntrack: replies need their own allow rules
  --encapsulations <list>      auto (default: untagged, plus 802.1Q on networks with a VLAN
                               trunk) or a list of untagged,802.1Q,802.1ad to police; frames of
                               other encapsulations are dropped where a direction is isolated
  --layout <name>              per-port (default: pod ingress on each representor's egress
                               hook) or shared-block (both directions on one ingress block per
                               eswitch, where a switchdev NIC can offload them)
  --uplink <netdev>            shared-block: uplink for representors without a phys_switch_id
  --ct-zone <n>                conntrack zone (default 0; shared-block: the first switch's)
  --plugin <package|path>      load a third-party adapter or driver (repeatable)
  --once                       agent: sync once, print what was applied, exit
  --resync-seconds <n>         agent: full pass that repairs drift every n seconds (default 300)
  --health-address <host:port> agent: serve /healthz, /readyz and /metrics (Prometheus)
`;

export async function main(argv: readonly string[], out: (s: string) => void, errOut: (s: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (e) {
    errOut(`multi-networkpolicy-tc: ${(e as Error).message}`);
    errOut(`Run 'multi-networkpolicy-tc --help' for usage.`);
    return 2;
  }
  if (parsed.values['help'] === true) {
    out(HELP);
    return 0;
  }
  const cfgResult = validateConfig(configInput(parsed.values));
  if (!cfgResult.ok) {
    errOut(`multi-networkpolicy-tc: invalid flag ${cfgResult.error}`);
    return 2;
  }
  const cfg: AgentConfig = cfgResult.value;
  const v = parsed.values;
  const s = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  try {
    switch (parsed.command) {
      case undefined:
        return await agentCommand(cfg, errOut);
      case 'render':
        return await renderCommand(cfg, s('node'), s('output') ?? 'text', out);
      case 'trace':
        return await traceCommand(cfg, { from: s('from'), to: s('to'), network: s('network'), port: s('port'), family: s('family'), node: s('node') }, out);
      case 'check': {
        // conformance cases use every built-in CNI (bond-cni needs the bond adapter)
        const checkCfg = v['network-plugins'] === undefined ? { ...cfg, networkPlugins: [...BUILTIN_ADAPTERS] } : cfg;
        return await checkCommand(checkCfg, parsed.positionals, v['json'] === true, out);
      }
      case 'status':
        return await statusCommand(cfg, { node: s('node'), output: s('output') ?? 'text' }, out);
      default:
        throw new UsageError(`unknown command '${parsed.command}' (commands: render, trace, check, status; none runs the agent)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      errOut(`multi-networkpolicy-tc: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
