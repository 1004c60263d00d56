// `check`: conformance case files at decision level. Every probe is decided by running its
// frames through the compiled TC programs of both ends (core/conformance/decide.ts).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../api/errors.js';
import type { AgentConfig } from '../config.js';
import { decide } from '../conformance/decide.js';
import { applyStep, loadCaseFile } from '../conformance/load-case.js';
import type { CaseProbe } from '../conformance/case.js';
import { programNode } from '../pipeline/program-node.js';
import { nodeOptions, offlineAdapters, offlineSwitches, UsageError } from './offline.js';

export interface ProbeResult {
  readonly case: string;
  readonly step: number | null;
  readonly probe: number;
  readonly from: string;
  readonly to: string;
  readonly network: string;
  readonly family: string;
  readonly protocol: string;
  readonly port: number;
  readonly expect: string;
  readonly got: string;
  readonly pass: boolean;
  readonly reason: string;
}

async function caseFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new UsageError(`${p}: no such file or directory`);
    if (st.isDirectory()) {
      const names = (await readdir(p)).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort();
      out.push(...names.map((n) => join(p, n)));
    } else out.push(p);
  }
  return out;
}

export async function runCases(cfg: AgentConfig, paths: readonly string[]): Promise<ProbeResult[]> {
  const adapters = await offlineAdapters(cfg);
  const opts = nodeOptions(cfg);
  const results: ProbeResult[] = [];
  for (const file of await caseFiles(paths)) {
    const loaded = await loadCaseFile(file);
    if (!loaded.ok) throw new UsageError(describeError(loaded.error));
    const c = loaded.value;
    let cluster = c.cluster;
    let externals = c.externals;
    const run = (probes: readonly CaseProbe[], step: number | null): void => {
      const np = programNode(cluster, c.node, adapters, opts);
      const switches = offlineSwitches(cfg, np);
      probes.forEach((p, i) => {
        const d = decide(np, externals, p, 40000 + i, switches);
        const got = d.problem ? 'error' : d.verdict;
        results.push({
          case: c.name,
          step,
          probe: i,
          from: p.from,
          to: p.to,
          network: p.network,
          family: p.family,
          protocol: p.protocol,
          port: p.port,
          expect: p.expect,
          got,
          pass: got === p.expect,
          reason: d.problem ? `${d.problem} (${d.reason})` : d.reason,
        });
      });
    };
    run(c.probes, null);
    c.steps.forEach((s, i) => {
      ({ cluster, externals } = applyStep(cluster, externals, s));
      run(s.probes, i);
    });
  }
  return results;
}

export async function checkCommand(cfg: AgentConfig, paths: readonly string[], json: boolean, out: (s: string) => void): Promise<number> {
  if (paths.length === 0) throw new UsageError('check needs case files or directories (e.g. ../shared/conformance/cases)');
  const results = await runCases(cfg, paths);
  for (const r of results) {
    if (json) out(JSON.stringify(r));
    else if (!r.pass) {
      const where = `${r.case}${r.step === null ? '' : ` step ${r.step}`} probe ${r.probe}`;
      out(`FAIL ${where}: ${r.from} -> ${r.to} ${r.protocol}/${r.port} ${r.family} on ${r.network}: expected ${r.expect}, got ${r.got}: ${r.reason}`);
    }
  }
  const failed = results.filter((r) => !r.pass).length;
  out(`${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
