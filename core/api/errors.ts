// Every failure the agent can report, and the one function that turns it into a sentence.
export type AgentError =
  | { code: 'representor-not-found'; device: string; cause: string }
  | { code: 'attachment-invalid'; pod: string; network: string; field: string; problem: string }
  | { code: 'tc-exec-failed'; netdev: string; command: string; stderr: string }
  | { code: 'tc-batch-failed'; netdev: string; line: number; text: string; stderr: string }
  | { code: 'tc-parse-failed'; netdev: string; problem: string }
  | { code: 'hook-unavailable'; netdev: string; problem: string }
  | { code: 'netlink-failed'; netdev: string; op: string; errno: number; message: string }
  | { code: 'plugin-invalid'; plugin: string; problem: string }
  | { code: 'config-invalid'; problem: string }
  | { code: 'input-invalid'; source: string; object: string; field: string; problem: string }
  /** A file that cannot be read or parsed, or a problem that belongs to no Kubernetes object. */
  | { code: 'file-invalid'; source: string; line?: number; field?: string; problem: string }
  /** The Kubernetes client configuration cannot be built (--kubeconfig, --master, in-cluster). */
  | { code: 'kubeconfig-invalid'; source: string; problem: string }
  /** The API server cannot be reached or refuses us. */
  | { code: 'api-unavailable'; server: string; problem: string };

export function describeError(e: AgentError): string {
  switch (e.code) {
    case 'representor-not-found':
      return `no VF representor for device ${e.device}: ${e.cause}`;
    case 'attachment-invalid':
      return `pod ${e.pod} network ${e.network}: ${e.field} ${e.problem}`;
    case 'tc-exec-failed':
      return `tc ${e.command} on ${e.netdev} failed: ${e.stderr.trim()}`;
    case 'tc-batch-failed':
      return `tc -batch on ${e.netdev} failed at line ${e.line} (${e.text}): ${e.stderr.trim()}; earlier lines stay applied, previous rules of later lines left in place`;
    case 'tc-parse-failed':
      return `cannot read the TC state of ${e.netdev}: ${e.problem}`;
    case 'hook-unavailable':
      return `cannot program ${e.netdev}: ${e.problem}`;
    case 'netlink-failed':
      return `netlink ${e.op} on ${e.netdev} failed (errno ${e.errno}): ${e.message}`;
    case 'plugin-invalid':
      return `plugin ${e.plugin}: ${e.problem}`;
    case 'config-invalid':
      return `invalid configuration: ${e.problem}`;
    case 'input-invalid':
      return `${e.source}: ${e.object}: ${e.field}: ${e.problem}`;
    case 'file-invalid':
      return `${e.source}${e.line !== undefined ? `:${e.line}` : ''}: ${e.field !== undefined ? `${e.field}: ` : ''}${e.problem}`;
    case 'kubeconfig-invalid':
      return `cannot configure the Kubernetes client from ${e.source}: ${e.problem}`;
    case 'api-unavailable':
      return `cannot use the Kubernetes API at ${e.server}: ${e.problem}`;
  }
}
