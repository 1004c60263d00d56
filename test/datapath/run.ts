// Host side of the datapath suite: `npm run test:datapath [-- [--tc-driver cmdline|netlink]
// [--layout per-port|shared-block] [--named all|none|a,b] <case-file|dir>...]`.
//
//   1. compiles the project to plain JavaScript in a temp dir (tsx transpiles per file, which
//      costs ~50 s in the TCG guest; plain JS loads in ~20 s);
//   2. boots the lab once (../shared/lab/run-in-vm.sh) and runs guest/main.ts inside it,
//      results coming back through a --rw directory;
//   3. prints every failed probe and check, the named tests' reports (zero-gap packet
//      counts), any probe whose verdict differs from the decision-level `check`, the wall
//      time, and the closing line `N passed, N failed`; exits non-zero on any failure.
//
// Without case arguments it runs the suite CI runs: every shared conformance case, the cases
// in test/datapath/cases, and every named test of the layout. With case arguments, only
// those cases (named tests with --named). `--layout shared-block` wires the agent with
// `--layout shared-block --uplink dpup0` (the lab topology's uplink veth); the decision-level
// `check` gets the same layout.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { configInput } from '../../core/cli/args.js';
import { runCases } from '../../core/cli/check-command.js';
import { BUILTIN_ADAPTERS, validateConfig } from '../../core/config.js';
import { closingLine, failureLine, parseOutcomes, tally, type Outcome, type ProbeOutcome } from './results.js';
import { isLabLayout, LAB_UPLINK, layoutOptions, type LabLayout } from './lab-layout.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = resolve(ROOT, '..', 'shared');
const LAB = join(SHARED, 'lab', 'run-in-vm.sh');
const LAB_PACKAGES = 'qemu-system-x86 busybox-static gcc-12 make binutils xz-utils ethtool python3 iproute2';

const { values, positionals } = parseArgs({
  options: {
    'tc-driver': { type: 'string', default: 'cmdline' },
    layout: { type: 'string', default: 'per-port' },
    named: { type: 'string' },
    timeout: { type: 'string', default: '2400' },
    keep: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});

function die(msg: string): never {
  process.stderr.write(`test:datapath: ${msg}\n`);
  process.exit(2);
}

async function caseFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) die(`${p}: no such file or directory`);
    if (st.isDirectory()) out.push(...(await readdir(p)).filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => resolve(p, n)));
    else out.push(resolve(p));
  }
  return out;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<number> {
  const t0 = Date.now();
  const layout = values.layout;
  if (!isLabLayout(layout)) die(`--layout ${layout}: per-port or shared-block`);
  if (!existsSync(LAB)) die(`the shared lab is missing: ${LAB} does not exist (the suite expects ../shared next to the repository, with lab/ and conformance/)`);
  const qemu = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  if (qemu.exitCode !== 0) die(`qemu-system-x86_64 is not installed; the lab needs (one time, as root): apt-get install -y --no-install-recommends ${LAB_PACKAGES}`);

  // no arguments: the whole suite; only --named: just those named tests
  const defaults = positionals.length === 0 && values.named === undefined;
  if (defaults && !existsSync(join(SHARED, 'conformance', 'cases'))) die(`${join(SHARED, 'conformance', 'cases')} does not exist`);
  const files = await caseFiles(defaults ? [join(SHARED, 'conformance', 'cases'), join(ROOT, 'test/datapath/cases')] : positionals);
  const named = values.named ?? (defaults ? 'all' : 'none');

  const work = await mkdtemp(join(tmpdir(), 'mnp-datapath-'));
  const build = join(work, 'build');
  const out = join(work, 'out');
  await mkdir(out);
  try {
    // 1. plain JavaScript (type errors elsewhere in the tree do not stop the emit)
    const b0 = Date.now();
    const tsc = await execa(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.json'), '--outDir', build, '--sourceMap', 'false'], { reject: false, cwd: ROOT });
    const entry = join(build, 'test/datapath/guest/main.js');
    if (!existsSync(entry)) die(`compiling to JavaScript failed:\n${tsc.stdout}${tsc.stderr}`);
    await symlink(join(ROOT, 'node_modules'), join(build, 'node_modules'));
    process.stdout.write(`compiled to ${build} in ${secs(Date.now() - b0)}\n`);

    // 2. one VM boot for everything
    const v0 = Date.now();
    const args = [
      '--timeout', values.timeout!, '--mem', '2G', '--rw', out, '--',
      'env', '-u', 'NODE_EXTRA_CA_CERTS', 'NO_COLOR=1', 'NODE_DISABLE_COLORS=1',
      'node', entry, '--out', out, '--repo', ROOT, '--tc-driver', values['tc-driver']!, '--layout', layout, '--named', named, ...files,
    ];
    const rc = await new Promise<number>((done) => {
      const p = spawn(LAB, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
      p.on('exit', (code) => done(code ?? 125));
    });
    const vmMs = Date.now() - v0;

    // 3. report
    const outcomes = parseOutcomes(await readFile(join(out, 'results.jsonl'), 'utf8').catch(() => ''));
    return report(outcomes, files, rc, vmMs, Date.now() - t0, layout);
  } finally {
    if (values.keep) process.stdout.write(`kept ${work}\n`);
    else await rm(work, { recursive: true, force: true });
  }
}

async function report(outcomes: Outcome[], files: readonly string[], rc: number, vmMs: number, totalMs: number, layout: LabLayout): Promise<number> {
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  say('');
  say('== datapath results');
  for (const o of outcomes) if (o.kind === 'info') say(`${o.suite}: ${o.text}`);
  for (const o of outcomes) if ((o.kind === 'probe' || o.kind === 'check') && !o.pass) say(failureLine(o));

  // the same probes at decision level (the compiled program, no kernel): verdicts must agree
  const probes = outcomes.filter((o): o is ProbeOutcome => o.kind === 'probe');
  const cfg = validateConfig({ ...configInput({}), networkPlugins: [...BUILTIN_ADAPTERS], tcDriver: 'dry-run', ...layoutOptions(layout) });
  let differ = 0;
  if (cfg.ok && probes.length > 0) {
    const decided = await runCases(cfg.value, [...new Set(probes.map((p) => p.file))]).catch((e: unknown) => {
      say(`decision-level check failed to run: ${(e as Error).message}`);
      return [];
    });
    const byKey = new Map(decided.map((d) => [`${d.case}/${d.step}/${d.probe}`, d]));
    for (const p of probes) {
      const d = byKey.get(`${p.suite}/${p.step}/${p.probe}`);
      if (d && d.got !== p.got) {
        differ++;
        say(`DIFF ${p.suite}${p.step === null ? '' : ` step ${p.step}`} probe ${p.probe}: ${p.from} -> ${p.to} ${p.protocol}/${p.port} ${p.family}: datapath ${p.got}, decision level ${d.got} (expected ${p.expect})`);
      }
    }
    say(`decision-level check: ${differ === 0 ? `agrees on all ${probes.length} probes` : `${differ} of ${probes.length} probes differ`}`);
  }

  const timings = outcomes.filter((o) => o.kind === 'timing');
  const slow = timings.filter((t) => t.suite !== 'guest total').map((t) => `${t.suite} ${secs(t.ms)}`);
  if (slow.length > 0) say(`times: ${slow.join(', ')}`);
  const guest = timings.find((t) => t.suite === 'guest total');
  say(`wall time: ${secs(totalMs)} (VM run ${secs(vmMs)}${guest ? `, guest ${secs(guest.ms)}` : ''}), ${files.length} case files, layout ${layout}${layout === 'shared-block' ? ` (uplink ${LAB_UPLINK})` : ''}`);

  const t = tally(outcomes);
  const finished = guest !== undefined;
  if (!finished) say(`FAIL the guest did not finish (VM exit status ${rc}${rc === 124 ? ': timeout' : rc === 125 ? ': the VM failed' : ''}); results are partial`);
  say(`case probes: ${t.probes.passed} passed, ${t.probes.failed} failed; named-test and harness checks: ${t.checks.passed} passed, ${t.checks.failed} failed`);
  const failed = t.probes.failed + t.checks.failed + (finished ? 0 : 1);
  say(closingLine({ probes: { passed: t.probes.passed, failed: t.probes.failed + (finished ? 0 : 1) }, checks: t.checks }));
  return failed === 0 && rc === 0 && probes.length + t.checks.passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`test:datapath: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
