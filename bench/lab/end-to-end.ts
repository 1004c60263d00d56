// Item 4, in the lab: the real agent process (compiled core/cli/run.js, --tc-driver cmdline
// or netlink) against the fake API server in this process, dummy netdevs as representors.
// Measured: from a policy edit on the API server to the moment the agent reports the new
// filters applied on the last affected netdev (its `rules applied` log line is written after
// the driver returned, i.e. the filters are in the kernel), for an edit that affects 1
// attachment and one that affects 200. Afterwards the kernel is read to confirm the new port
// is installed on every affected netdev.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Exec } from '../../core/api/ports.js';
import { ExecaExec } from '../../drivers/shared/execa-exec.js';
import { splitShowOutput } from '../../drivers/tc-cmdline/batch-output.js';
import { parseFilters } from '../../drivers/tc-cmdline/parse.js';
import { FakeApiServer, type K8sObject, type Resource } from '../../test/fake-apiserver/server.js';
import { median } from '../lib/table.js';

const BUILD = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE = 'lab-node';
const BIG = 200;
const CLIENTS = 50;

export interface ChangeTiming {
  readonly affected: number;
  /** Policy edit → last affected netdev's `rules applied`, per repeat. */
  readonly ms: readonly number[];
  readonly medianMs: number;
  /** Policy edit → first affected netdev's `rules applied` (median). */
  readonly firstMs: number;
  /** The agent's own `pass done` time for that pass (median). */
  readonly passMs: number;
  readonly verified: number;
}

export interface EndToEndResult {
  readonly driver: string;
  readonly startupMs: number;
  readonly firstPassMs: number;
  readonly filtersInstalled: number;
  readonly one: ChangeTiming;
  readonly all: ChangeTiming;
}

interface LogLine {
  readonly msg?: string;
  readonly netdev?: string;
  readonly ms?: number;
  readonly added?: number;
}

const net = { metadata: { name: 'net-0', namespace: 'default' }, spec: { config: JSON.stringify({ cniVersion: '1.0.0', name: 'net-0', type: 'accelerated-bridge' }) } };

function localPod(ns: string, name: string, rep: string, ip: string): K8sObject {
  const status = [
    { name: 'cbr0', interface: 'eth0', ips: ['10.244.0.1'], default: true },
    { name: 'default/net-0', interface: 'net1', ips: [ip], 'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:3b:00.2', 'representor-device': rep } } },
  ];
  return {
    metadata: { name, namespace: ns, labels: { app: 'web' }, annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) } },
    spec: { nodeName: NODE, containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: { phase: 'Running' },
  };
}

function clientPod(i: number): K8sObject {
  // scattered addresses: every client is an address atom of its own
  const status = [{ name: 'default/net-0', interface: 'net1', ips: [`10.201.${3 * i}.7`] }];
  return { metadata: { name: `client-${i}`, namespace: 'clients', labels: { app: 'client' }, annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) } }, spec: { nodeName: 'other-node' }, status: { phase: 'Running' } };
}

function webPolicy(ns: string, ports: readonly number[]): K8sObject {
  return {
    metadata: { name: 'web', namespace: ns, annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'default/net-0' } },
    spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { role: 'clients' } }, podSelector: { matchLabels: { app: 'client' } } }], ports: ports.map((port) => ({ protocol: 'TCP', port })) }] },
  };
}

export const bigReps = Array.from({ length: BIG }, (_, i) => `rb${i}`);
const SOLO_REP = 'rsolo';

function cluster(): [Resource, K8sObject][] {
  const out: [Resource, K8sObject][] = [
    ['namespaces', { metadata: { name: 'e2e-big' } }],
    ['namespaces', { metadata: { name: 'e2e-solo' } }],
    ['namespaces', { metadata: { name: 'clients', labels: { role: 'clients' } } }],
    ['nads', net],
  ];
  bigReps.forEach((rep, i) => out.push(['pods', localPod('e2e-big', `web-${i}`, rep, `10.200.${i >> 8}.${i & 255}`)]));
  out.push(['pods', localPod('e2e-solo', 'web-0', SOLO_REP, '10.202.0.1')]);
  for (let i = 0; i < CLIENTS; i++) out.push(['pods', clientPod(i)]);
  out.push(['policies', webPolicy('e2e-big', [8080])], ['policies', webPolicy('e2e-solo', [8080])]);
  return out;
}

class AgentProcess {
  readonly lines: { at: number; line: LogLine }[] = [];
  readonly child: ChildProcess;
  private stderr = '';

  constructor(url: string, driver: string) {
    this.child = spawn(process.execPath, [join(BUILD, 'core/cli/run.js'), '--master', url, '--tc-driver', driver, '--hostname-override', NODE, '--resync-seconds', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '', NODE_OPTIONS: '' },
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.lines.push({ at: performance.now(), line: JSON.parse(l) as LogLine });
      } catch {
        // not a log line
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => void (this.stderr += d.toString()));
  }

  async until(pred: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const t = performance.now();
    while (!pred()) {
      if (this.child.exitCode !== null) throw new Error(`the agent exited (${this.child.exitCode}) while waiting for ${what}: ${this.stderr.slice(-800)}`);
      if (performance.now() - t > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  passes(): number {
    return this.lines.filter((l) => l.line.msg === 'pass done').length;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await new Promise((r) => this.child.once('exit', r));
  }
}

/** How many of `devs` carry a filter whose `dst_port` (a port or a range: 8080-8081) admits `port` on their egress hook (one `tc` process, the driver's parsers). */
async function withPort(exec: Exec, devs: readonly string[], port: number): Promise<number> {
  const shows = devs.map((d) => `filter show dev ${d} egress`);
  const r = await exec.run('tc', ['-j', '-batch', '-'], { input: `${shows.join('\n')}\n`, timeoutMs: 300_000 });
  const docs = splitShowOutput(r.stdout, shows.length, 'all');
  if (!docs.ok) throw new Error(`reading the kernel back: ${r.stderr.slice(0, 300)}`);
  return docs.value.filter((doc, i) => {
    const parsed = parseFilters(doc, 'egress', devs[i]!);
    return parsed.ok && parsed.value.owned.some((f) => f.match.dstPort !== undefined && f.match.dstPort.start <= port && port <= f.match.dstPort.end);
  }).length;
}

export async function endToEnd(driver: string, repeat: { one: number; all: number }, say: (s: string) => void = () => undefined): Promise<EndToEndResult> {
  const exec = new ExecaExec();
  for (const m of ['cls_flower', 'act_ct', 'act_gact', 'sch_ingress']) await exec.run('modprobe', [m]);
  await exec.run('ip', ['link', 'set', 'lo', 'up']);
  const reps = [...bigReps, SOLO_REP];
  await exec.run('ip', ['-batch', '-'], { input: reps.map((r) => `link add ${r} type dummy\nlink set ${r} up`).join('\n') + '\n' });
  const server = await FakeApiServer.start();
  for (const [r, o] of cluster()) server.apply(r, o);

  const t0 = performance.now();
  const agent = new AgentProcess(server.url, driver);
  try {
    await agent.until(() => agent.passes() >= 1, 'the first pass', 1_200_000);
    const startupMs = performance.now() - t0;
    const firstPass = agent.lines.find((l) => l.line.msg === 'pass done')!.line.ms ?? 0;
    const filtersInstalled = agent.lines.filter((l) => l.line.msg === 'rules applied').reduce((n, l) => n + (l.line.added ?? 0), 0);
    say(`end to end (${driver}): agent ready after ${(startupMs / 1000).toFixed(1)} s, first pass ${(firstPass / 1000).toFixed(1)} s, ${filtersInstalled} filters`);

    const measure = async (ns: string, devs: readonly string[], repeat: number): Promise<ChangeTiming> => {
      const ms: number[] = [];
      const first: number[] = [];
      const pass: number[] = [];
      let verified = 0;
      for (let k = 0; k < repeat; k++) {
        for (const [ports, timed] of [[[8080, 8081], true], [[8080], false]] as const) {
          const from = agent.lines.length;
          const passesBefore = agent.passes();
          const t = performance.now();
          server.apply('policies', webPolicy(ns, ports));
          const applied = (): { at: number; line: LogLine }[] => agent.lines.slice(from).filter((l) => l.line.msg === 'rules applied' && devs.includes(l.line.netdev ?? ''));
          await agent.until(() => new Set(applied().map((l) => l.line.netdev)).size === devs.length, `${devs.length} netdevs applied`, 1_200_000);
          const done = applied();
          if (timed) {
            ms.push(Math.max(...done.map((l) => l.at)) - t);
            first.push(Math.min(...done.map((l) => l.at)) - t);
            verified = await withPort(exec, devs, 8081);
          }
          await agent.until(() => agent.passes() > passesBefore, 'the pass to end', 1_200_000);
          if (timed) pass.push(agent.lines.slice(from).find((l) => l.line.msg === 'pass done')?.line.ms ?? 0);
          await new Promise((r) => setTimeout(r, 700)); // past the minimum interval between passes
        }
      }
      return { affected: devs.length, ms, medianMs: median(ms), firstMs: median(first), passMs: median(pass), verified };
    };
    const one = await measure('e2e-solo', [SOLO_REP], repeat.one);
    say(`  1 attachment: ${one.ms.map((x) => (x / 1000).toFixed(2)).join(', ')} s`);
    const all = await measure('e2e-big', bigReps, repeat.all);
    say(`  ${BIG} attachments: ${all.ms.map((x) => (x / 1000).toFixed(2)).join(', ')} s`);
    return { driver, startupMs, firstPassMs: firstPass, filtersInstalled, one, all };
  } finally {
    await agent.stop();
    await server.stop();
    await exec.run('ip', ['-batch', '-'], { input: reps.map((r) => `link del ${r}`).join('\n') + '\n' });
  }
}
