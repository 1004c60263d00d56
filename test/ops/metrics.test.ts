// Metrics: the reporter feeds the port from what the reconciler reports (a recording fake
// binds the port), the prom-client implementation exports it (its real registry is read),
// and a running agent serves it on /metrics of its health address (curl-equivalent).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { AgentMetrics, KnownCounts } from '../../core/agent/metrics.js';
import { PromMetrics } from '../../core/agent/prom-metrics.js';
import { err } from '../../core/api/result.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Plan } from '../../core/model/plan.js';
import { configInput, parse } from '../../core/cli/args.js';
import { agentCommand } from '../../core/cli/agent-command.js';
import { validateConfig } from '../../core/config.js';
import { MetricsReporter } from '../../core/report/metrics-reporter.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { FAST_INFORMERS, FAST_RECONCILER, seedBase, startHarness, until } from '../agent/harness.js';
import { kubeconfigYaml } from '../fake-apiserver/kubeconfig.js';
import { FakeApiServer } from '../fake-apiserver/server.js';

class Recorder implements AgentMetrics {
  syncs: { full: boolean; seconds: number }[] = [];
  applies = 0;
  filters = new Map<string, number>();
  forgotten: string[] = [];
  errors: string[] = [];
  counts: KnownCounts | undefined;
  sync(full: boolean, seconds: number) {
    this.syncs.push({ full, seconds });
  }
  applied() {
    this.applies++;
  }
  filtersInstalled(r: string, n: number) {
    this.filters.set(r, n);
  }
  forgetRepresentor(r: string) {
    this.forgotten.push(r);
    this.filters.delete(r);
  }
  applyError(stage: string, reason: string) {
    this.errors.push(`${stage}/${reason}`);
  }
  known(c: KnownCounts) {
    this.counts = c;
  }
  informerRestarts() {}
  ready() {}
}

/** Fails the first `n` applies like tc -batch would. */
class FailingDriver extends DryRunTcDriver {
  constructor(private n: number) {
    super();
  }
  override async apply(dev: Netdev, plan: Plan) {
    if (this.n-- > 0) return err({ code: 'tc-batch-failed' as const, netdev: dev.name, line: 1, text: 'x', stderr: 'RTNETLINK answers: Operation not supported' });
    return super.apply(dev, plan);
  }
}

test('the reporter turns passes, applies, failures and removals into port calls', async () => {
  const rec = new Recorder();
  const h = await startHarness(seedBase, { reporters: [new MetricsReporter(rec)], driver: new FailingDriver(1) });
  try {
    await h.converged();
    assert.ok(rec.syncs.length >= 2, 'the failed apply is retried in a later pass');
    assert.equal(rec.syncs[0]!.full, true);
    assert.ok(rec.syncs.every((s) => s.seconds >= 0 && s.seconds < 5));
    assert.deepEqual(rec.errors, ['apply/tc-batch-failed']);
    assert.ok(rec.applies >= 1);
    const want = h.driver.state('eth1').filters.length;
    assert.ok(want > 0);
    assert.equal(rec.filters.get('eth1'), want);
    assert.deepEqual(rec.counts, { policies: 1, invalidPolicies: 0, pods: 3, attachments: 2, skipped: 0 });
    h.server.delete('pods', 'ns1/server');
    await h.converged();
    assert.ok(rec.forgotten.includes('eth1'));
    assert.equal(rec.filters.has('eth1'), false);
    assert.equal(rec.counts?.pods, 2);
  } finally {
    await h.stop();
  }
});

test('PromMetrics exports every series in the Prometheus text format', async () => {
  const m = new PromMetrics({ defaultMetrics: false });
  let restarts = { Pod: 2 };
  m.informerRestarts(() => restarts);
  m.ready(() => true);
  m.sync(true, 0.03);
  m.sync(false, 0.2);
  m.applied();
  m.filtersInstalled('eth5', 13);
  m.filtersInstalled('eth6', 3);
  m.forgetRepresentor('eth6');
  m.applyError('apply', 'tc-batch-failed');
  m.known({ policies: 4, invalidPolicies: 1, pods: 6, attachments: 5, skipped: 2 });
  const { body, contentType } = await m.render();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  for (const line of [
    'mnp_tc_syncs_total{full="true"} 1',
    'mnp_tc_syncs_total{full="false"} 1',
    'mnp_tc_sync_duration_seconds_bucket{le="0.05",full="true"} 1',
    'mnp_tc_sync_duration_seconds_count{full="false"} 1',
    'mnp_tc_applies_total 1',
    'mnp_tc_filters_installed{representor="eth5"} 13',
    'mnp_tc_apply_errors_total{stage="apply",reason="tc-batch-failed"} 1',
    'mnp_tc_policies{state="valid"} 4',
    'mnp_tc_policies{state="invalid"} 1',
    'mnp_tc_pods 6',
    'mnp_tc_attachments{state="enforced"} 5',
    'mnp_tc_attachments{state="skipped"} 2',
    'mnp_tc_informer_restarts_total{kind="Pod"} 2',
    'mnp_tc_informer_restarts_total{kind="Namespace"} 0',
    'mnp_tc_ready 1',
  ]) assert.ok(body.split('\n').includes(line), `missing: ${line}\n${body}`);
  assert.doesNotMatch(body, /representor="eth6"/);
  restarts = { Pod: 5 };
  assert.ok((await m.render()).body.includes('mnp_tc_informer_restarts_total{kind="Pod"} 5'), 'restarts follow the informers');
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function scrape(port: number, path = '/metrics'): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined);
  return r ? { status: r.status, body: await r.text() } : { status: 0, body: '' };
}

test('the agent binary (manifests, dry-run driver) serves /metrics, /healthz and /readyz on --health-address', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/multi-networkpolicy-tc.js', '--manifests', 'examples/cluster', '--tc-driver', 'dry-run', '--hostname-override', 'worker-1', '--health-address', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await until('/readyz 200', async () => (await scrape(port, '/readyz')).status === 200, 20_000);
    assert.equal((await scrape(port, '/healthz')).status, 200);
    const { status, body } = await scrape(port);
    assert.equal(status, 200);
    const lines = body.split('\n');
    for (const l of [
      'mnp_tc_syncs_total{full="true"} 1',
      'mnp_tc_filters_installed{representor="eth5"} 13',
      'mnp_tc_filters_installed{representor="eth6"} 21',
      'mnp_tc_policies{state="valid"} 4',
      'mnp_tc_pods 6',
      'mnp_tc_attachments{state="enforced"} 5',
      'mnp_tc_informer_restarts_total{kind="MultiNetworkPolicy"} 0',
      'mnp_tc_ready 1',
    ]) assert.ok(lines.includes(l), `missing ${l}`);
    for (const name of ['mnp_tc_sync_duration_seconds', 'mnp_tc_apply_errors_total', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) assert.match(body, new RegExp(`^# TYPE ${name} `, 'm'));
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
});

test('against the API, informer restarts after list failures show on /metrics', async () => {
  const server = await FakeApiServer.start();
  seedBase(server);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'mnp-metrics-'));
  await writeFile(join(dir, 'kubeconfig'), kubeconfigYaml(server.url));
  const c = validateConfig(configInput(parse(['--kubeconfig', join(dir, 'kubeconfig'), '--tc-driver', 'dry-run', '--hostname-override', 'worker-1', '--health-address', `127.0.0.1:${port}`]).values));
  assert.ok(c.ok);
  const stop = new AbortController();
  const done = agentCommand(c.value, () => undefined, { logDestination: new Writable({ write: (_c, _e, cb) => cb() }), informerTiming: FAST_INFORMERS, reconcilerTiming: FAST_RECONCILER, signal: stop.signal });
  try {
    await until('ready', async () => (await scrape(port, '/readyz')).status === 200);
    server.failWatch('pods', 2);
    server.closeWatches('pods');
    await until('restarts counted', async () => /^mnp_tc_informer_restarts_total\{kind="Pod"\} [1-9]/m.test((await scrape(port)).body));
    assert.match((await scrape(port)).body, /^mnp_tc_informer_restarts_total\{kind="Namespace"\} 0$/m);
  } finally {
    stop.abort();
    assert.equal(await done, 0);
    await server.stop();
  }
});
