// Guest side of the datapath suite (runs as root in the lab VM; the host side is ../run.ts).
//   node <build>/test/datapath/guest/main.js --out DIR --repo ROOT [--tc-driver cmdline]
//        [--layout per-port|shared-block] [--named all|none|a,b] case.yaml...
// Writes DIR/results.jsonl (one Outcome per line, appended as it goes, so a VM that dies
// leaves what was done) and prints progress. Exits 0 when it ran to the end; the host
// decides pass/fail from the results.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Ctx } from './context.js';
import { CaseRun } from './case-run.js';
import { Engine } from './engine.js';
import { isLabLayout, layoutOptions } from '../lab-layout.js';
import { wireAgent } from './lab-agent.js';
import { preflight } from './preflight.js';
import { NAMED_TESTS, selectNamed } from './named.js';

const { values, positionals } = parseArgs({
  options: { out: { type: 'string' }, repo: { type: 'string' }, 'tc-driver': { type: 'string' }, named: { type: 'string' }, layout: { type: 'string' } },
  allowPositionals: true,
});
const out = values.out!;
const repo = values.repo!;
const tcDriver = values['tc-driver'] ?? 'cmdline';
const layout = values.layout ?? 'per-port';
mkdirSync(out, { recursive: true });
const resultsFile = join(out, 'results.jsonl');
writeFileSync(resultsFile, '');

const t0 = Date.now();
const say = (s: string): void => void process.stdout.write(`${s}\n`);
const fatal = (name: string, e: unknown): never => {
  const detail = e instanceof Error ? e.message : String(e);
  writeFileSync(resultsFile, `${JSON.stringify({ kind: 'check', suite: 'preflight', name, pass: false, detail })}\n${JSON.stringify({ kind: 'timing', suite: 'guest total', ms: Date.now() - t0 })}\n`);
  say(`FAIL ${name}: ${detail}`);
  process.exit(0);
};
const engine = await Engine.start(join(repo, 'test/datapath/guest/probe-engine.py')).catch((e: unknown) => fatal('the probe engine (python3) starts', e));
let ctx!: Ctx;
try {
  if (!isLabLayout(layout)) throw new Error(`--layout ${layout}: per-port or shared-block`);
  const wiring = await wireAgent(tcDriver, undefined, layoutOptions(layout));
  ctx = new Ctx(engine, wiring, tcDriver, repo, resultsFile, { TCP: num('DATAPATH_TCP_TIMEOUT', 2), UDP: num('DATAPATH_UDP_TIMEOUT', 1.5), SCTP: num('DATAPATH_SCTP_TIMEOUT', 2.5) });
} catch (e) {
  engine.stop();
  fatal(`--tc-driver ${tcDriver} --layout ${layout}`, e);
}
say(`datapath guest: node ${process.version}, ${Math.round((Date.now() - t0) / 100) / 10} s to start; tc driver ${tcDriver}, layout ${layout}${ctx.uplink ? ` (uplink ${ctx.uplink})` : ''}`);

if (await preflight(ctx)) {
  for (const file of positionals) {
    const c0 = Date.now();
    const run = await CaseRun.load(ctx, file);
    if (!run) continue;
    say(`case ${run.c.name} (${run.c.probes.length + run.c.steps.reduce((n, s) => n + s.probes.length, 0)} probes)`);
    await run.runAll();
    ctx.emit({ kind: 'timing', suite: run.c.name, ms: Date.now() - c0 });
  }
  for (const name of selectNamed(values.named ?? 'none', ctx.layout)) {
    const test = NAMED_TESTS[name];
    const c0 = Date.now();
    say(`named test ${name}`);
    if (!test) {
      ctx.check(name, 'named test exists', false, `no named test ${name} (known: ${Object.keys(NAMED_TESTS).join(', ')})`);
      continue;
    }
    if (!test.layouts.includes(ctx.layout)) {
      ctx.check(name, `runs under --layout ${ctx.layout}`, false, `${name} runs under --layout ${test.layouts.join(' or ')} only`);
      continue;
    }
    try {
      await test.run(ctx);
    } catch (e) {
      ctx.check(name, 'runs to the end', false, (e as Error).stack ?? String(e));
    }
    ctx.emit({ kind: 'timing', suite: name, ms: Date.now() - c0 });
  }
}
ctx.emit({ kind: 'timing', suite: 'guest total', ms: Date.now() - t0 });
engine.stop();
say(`datapath guest: done in ${Math.round((Date.now() - t0) / 1000)} s`);
process.exit(0);

function num(env: string, d: number): number {
  const v = Number(process.env[env]);
  return Number.isFinite(v) && v > 0 ? v : d;
}
