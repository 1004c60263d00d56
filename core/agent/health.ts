// `--health-address host:port`: /healthz answers 200 while the process runs, /readyz 200 once
// every informer has synced and the first pass is done (503 before). For DaemonSet probes.
// With a metrics source, /metrics serves the Prometheus exposition text on the same address.
import { createServer, type Server } from 'node:http';

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Renders the Prometheus exposition text (PromMetrics.render). */
export type MetricsSource = () => Promise<{ readonly contentType: string; readonly body: string }>;

export async function startHealthServer(address: string, ready: () => boolean, metrics?: MetricsSource): Promise<HealthServer> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(address.slice(i + 1));
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && metrics) {
      metrics().then(
        (m) => {
          res.writeHead(200, { 'content-type': m.contentType });
          res.end(m.body);
        },
        (e: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${e instanceof Error ? e.message : String(e)}\n`);
        },
      );
      return;
    }
    const ok = path === '/healthz' || (path === '/readyz' && ready());
    const known = path === '/healthz' || path === '/readyz';
    res.writeHead(known ? (ok ? 200 : 503) : 404, { 'content-type': 'text/plain' });
    res.end(known ? (ok ? 'ok\n' : 'not ready\n') : 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
