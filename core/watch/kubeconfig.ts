// The Kubernetes client configuration, as upstream chooses it but with `--master` usable on
// its own: --kubeconfig (its server replaced by --master if given), else --master alone
// (anonymous), else the pod's service account. Failures are values with one sentence, and a
// preflight request proves the server answers before the agent starts watching.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { err, ok, type Result } from '../api/result.js';
import { abortable, withTimeout } from './abortable.js';
import { describeApiError } from './api-error.js';

export interface KubeConfigInput {
  readonly kubeconfig?: string;
  readonly master?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Prefix of the service-account directory (tests). */
  readonly serviceAccountPrefix?: string;
}

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** http:// has no TLS to verify; client-node refuses it unless skipTLSVerify is set. */
function allowPlainHttp(kc: KubeConfig): void {
  kc.clusters = kc.clusters.map((c) => (c.server.startsWith('http://') ? { ...c, skipTLSVerify: true } : c));
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

export function loadKubeConfig(input: KubeConfigInput): Result<KubeConfig> {
  const kc = new KubeConfig();
  const env = input.env ?? process.env;
  if (input.kubeconfig !== undefined) {
    const source = `--kubeconfig ${input.kubeconfig}`;
    if (!existsSync(input.kubeconfig)) return err({ code: 'kubeconfig-invalid', source, problem: 'no such file' });
    try {
      kc.loadFromFile(input.kubeconfig);
    } catch (e) {
      return err({ code: 'kubeconfig-invalid', source, problem: firstLine(e) });
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) return err({ code: 'kubeconfig-invalid', source, problem: 'no current context with a cluster (set current-context)' });
    if (input.master !== undefined) {
      kc.clusters = kc.clusters.map((c) => (c.name === cluster.name ? { ...c, server: input.master! } : c));
    }
  } else if (input.master !== undefined) {
    kc.loadFromClusterAndUser({ name: 'master', server: input.master, skipTLSVerify: false }, { name: 'anonymous' });
  } else {
    const source = 'the in-cluster service account';
    if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
      return err({ code: 'kubeconfig-invalid', source, problem: 'not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset); give --kubeconfig or --master' });
    }
    const prefix = input.serviceAccountPrefix ?? '';
    if (!existsSync(`${prefix}${SA_TOKEN}`)) return err({ code: 'kubeconfig-invalid', source, problem: `no token at ${prefix}${SA_TOKEN}` });
    try {
      kc.loadFromCluster(prefix);
    } catch (e) {
      return err({ code: 'kubeconfig-invalid', source, problem: firstLine(e) });
    }
    // loadFromCluster reads process.env itself; use the environment we were given.
    const host = isIP(env.KUBERNETES_SERVICE_HOST) === 6 ? `[${env.KUBERNETES_SERVICE_HOST}]` : env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
    kc.clusters = kc.clusters.map((c) => ({ ...c, server: `${scheme}://${host}:${port}` }));
  }
  allowPlainHttp(kc);
  const server = kc.getCurrentCluster()?.server ?? '';
  try {
    new URL(server);
  } catch {
    return err({ code: 'kubeconfig-invalid', source: input.kubeconfig ?? input.master ?? 'in-cluster', problem: `server ${JSON.stringify(server)} is not a URL` });
  }
  return ok(kc);
}

/** One cheap request (a namespace list of one item) so a wrong server or credential fails at startup. */
export async function preflight(kc: KubeConfig, timeoutMs: number): Promise<Result<void>> {
  const server = kc.getCurrentCluster()?.server ?? '?';
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await withTimeout('list namespaces', timeoutMs, (signal) => core.listNamespace({ limit: 1 }, abortable(signal)));
    return ok(undefined);
  } catch (e) {
    return err({ code: 'api-unavailable', server, problem: describeApiError(e) });
  }
}
