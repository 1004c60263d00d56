// TC drivers side by side in the lab kernel: install a program of N flower filters on a
// fresh device (observe → diff → apply) and one no-op resync (observe → diff, nothing to
// do), with
//   netlink           the netlink driver (windows of 128 ops per sendto)
//   netlink, 1/sendto the netlink driver with windowOps 1: one sendto + one reply per op
//   cmdline           the cmdline driver: one `tc -batch -` per apply, `tc -j -batch -` per observe
//   tc per filter     one `tc filter add` exec per filter (and per-command show execs)
// The program has the compiler's shape: N-4 allowed /32 peers on TCP 8080 in the verdict
// chain (ct_state +trk+new ... ct commit, pass), the reply filter, the drop, and the entry
// chain (ARP pass, ct + goto). Prints a markdown table (times and ratios to netlink).
//   /work/shared/lab/run-in-vm.sh --timeout 2400 env -u NODE_EXTRA_CA_CERTS \
//     node --import tsx bench/tc-drivers.lab.ts      # BENCH_N=1000,10000 BENCH_REPEAT=5 BENCH_PER_EXEC_MAX=1000
// Under TCG (no KVM in the lab) CPU work is ~16x and process starts ~30x slower than native.
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { TcDriver } from '../core/api/tc-driver.js';
import { describeError } from '../core/api/errors.js';
import { err, ok, type Result } from '../core/api/result.js';
import type { Netdev } from '../core/model/attachment.js';
import type { Applied, Plan } from '../core/model/plan.js';
import type { ObservedTc, TcFilter } from '../core/model/tc.js';
import { diff } from '../core/pipeline/diff.js';
import { countApplied } from '../drivers/shared/applied.js';
import { ExecaExec } from '../drivers/shared/execa-exec.js';
import { toBatchLines } from '../drivers/tc-cmdline/batch.js';
import { CmdlineTcDriver } from '../drivers/tc-cmdline/cmdline-driver.js';
import { parseFilters, parseQdiscs } from '../drivers/tc-cmdline/parse.js';
import { openFfiNetlinkSocket } from '../drivers/tc-netlink/ffi-socket.js';
import { NetlinkTcDriver } from '../drivers/tc-netlink/netlink-driver.js';

const exec = new ExecaExec();
const logger = pino({ level: 'silent' });

/** One `tc` process per command: what the agent would cost without batching. */
class PerExecDriver implements TcDriver {
  readonly name = 'per-exec';
  async observe(dev: Netdev): Promise<Result<ObservedTc>> {
    const show = async (args: string[]): Promise<unknown> => JSON.parse((await exec.run('tc', ['-j', ...args])).stdout);
    const q = parseQdiscs(await show(['qdisc', 'show', 'dev', dev.name]), dev.name);
    if (!q.ok) return q;
    if (q.value === null) return ok({ qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } });
    const i = parseFilters(await show(['filter', 'show', 'dev', dev.name, 'ingress']), 'ingress', dev.name);
    const e = parseFilters(await show(['filter', 'show', 'dev', dev.name, 'egress']), 'egress', dev.name);
    if (!i.ok) return i;
    if (!e.ok) return e;
    return ok({ qdisc: q.value, filters: [...i.value.owned, ...e.value.owned], foreign: { ingress: i.value.foreign, egress: e.value.foreign } });
  }
  async apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    for (const [i, line] of toBatchLines(dev, plan).entries()) {
      const r = await exec.run('tc', line.split(' '));
      if (r.exitCode !== 0) return err({ code: 'tc-batch-failed', netdev: dev.name, line: i + 1, text: line, stderr: r.stderr });
    }
    return ok(countApplied(plan));
  }
}

function program(n: number): TcFilter[] {
  const peers = Array.from({ length: n - 4 }, (_, i): TcFilter => ({
    hook: 'ingress', chain: 10000, pref: 2, protocol: 'ip',
    match: { ctState: '+trk+new', ipProto: 'tcp', dstIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`, dstPort: { start: 8080, end: 8080 } },
    actions: [{ kind: 'ct', zone: 0, commit: true }, { kind: 'pass' }],
  }));
  return [
    ...peers,
    { hook: 'ingress', chain: 10000, pref: 2, protocol: 'ip', match: { ctState: '+trk-new-inv' }, actions: [{ kind: 'pass' }] },
    { hook: 'ingress', chain: 10000, pref: 9, protocol: 'all', match: {}, actions: [{ kind: 'drop' }] },
    { hook: 'ingress', chain: 0, pref: 10000, protocol: 'arp', match: {}, actions: [{ kind: 'pass' }] },
    { hook: 'ingress', chain: 0, pref: 10005, protocol: 'all', match: {}, actions: [{ kind: 'ct', zone: 0, commit: false }, { kind: 'goto', chain: 10000 }] },
  ];
}

function must<T>(r: Result<T>, what: string): T {
  if (!r.ok) throw new Error(`${what}: ${describeError(r.error)}`);
  return r.value;
}

let devices = 0;
async function freshDevice(): Promise<Netdev> {
  const name = `bench${devices++}`;
  if ((await exec.run('ip', ['link', 'add', name, 'type', 'dummy'])).exitCode !== 0) throw new Error(`cannot add ${name}`);
  return { name };
}
const drop = async (dev: Netdev): Promise<void> => void (await exec.run('ip', ['link', 'del', dev.name]));

/** Install on a fresh device (observe → diff → apply), then one no-op resync (observe → diff) with `resyncWith`; seconds each. */
async function run(driver: TcDriver, filters: readonly TcFilter[], resyncWith: TcDriver = driver): Promise<{ install: number; resync: number }> {
  const dev = await freshDevice();
  const t0 = performance.now();
  const plan = diff(filters, must(await driver.observe(dev), 'observe')).plan;
  must(await driver.apply(dev, plan), 'apply');
  const t1 = performance.now();
  const again = diff(filters, must(await resyncWith.observe(dev), 'resync observe')).plan;
  const t2 = performance.now();
  if (again.ops.length !== 0) throw new Error(`${resyncWith.name}: resync found ${again.ops.length} ops`);
  await drop(dev);
  return { install: (t1 - t0) / 1000, resync: (t2 - t1) / 1000 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (process.env['KLAB_GUEST'] !== '1') throw new Error('run this in the lab VM (see the header)');
  await exec.run('modprobe', ['cls_flower']);
  await exec.run('modprobe', ['act_ct']);
  const sizes = (process.env['BENCH_N'] ?? '1000,10000').split(',').map(Number);
  const repeat = Number(process.env['BENCH_REPEAT'] ?? '5');
  /** one exec per filter costs ~0.15-0.3 s under TCG: installs above this many filters are scaled from this many (marked ~) */
  const perExecMax = Number(process.env['BENCH_PER_EXEC_MAX'] ?? '1000');
  const netlink = new NetlinkTcDriver(openFfiNetlinkSocket, logger, {});
  const netlink1 = new NetlinkTcDriver(openFfiNetlinkSocket, logger, { windowOps: 1 });
  const cmdline = new CmdlineTcDriver(exec, logger, {});
  const perExec = new PerExecDriver();
  // warm-up: the first use of each code path (ffi-rs, JIT of the encoder/decoder and of
  // parse.ts) is much slower under TCG; measure steady state, as in a long-running agent
  for (const d of [netlink, netlink1, cmdline]) await run(d, program(300));
  const rows: string[] = [];
  let perExecSample: number | undefined;
  for (const n of sizes) {
    const filters = program(n);
    // interleaved, so that the guest's slow phases hit every driver alike
    const times = { netlink: [] as { install: number; resync: number }[], netlink1: [] as { install: number; resync: number }[], cmdline: [] as { install: number; resync: number }[] };
    for (let r = 0; r < repeat; r++) {
      times.netlink.push(await run(netlink, filters));
      times.cmdline.push(await run(cmdline, filters));
      if (r < 2) times.netlink1.push(await run(netlink1, filters));
    }
    const med = (xs: { install: number; resync: number }[]) => ({ install: median(xs.map((x) => x.install)), resync: median(xs.map((x) => x.resync)) });
    const nl = med(times.netlink);
    const nl1 = med(times.netlink1);
    const cl = med(times.cmdline);
    // per-exec: the resync on a device the netlink driver filled; the install measured up to perExecMax filters
    const peResync = (await run(netlink, filters, perExec)).resync;
    let scaled = false;
    let peInstall: number;
    if (n <= perExecMax) peInstall = (await run(perExec, filters)).install;
    else {
      perExecSample ??= (await run(perExec, program(perExecMax))).install;
      peInstall = (perExecSample * n) / perExecMax;
      scaled = true;
    }
    const pe = { install: peInstall, resync: peResync };
    const ratio = (x: number, base: number): string => `${(x / base).toFixed(1)}x`;
    const cell = (x: { install: number; resync: number }, mark = '') => `${mark}${x.install.toFixed(2)} s (${ratio(x.install, nl.install)}) | ${x.resync.toFixed(2)} s (${ratio(x.resync, nl.resync)})`;
    rows.push(`| ${n} | netlink | ${cell(nl)} |`);
    rows.push(`| ${n} | netlink, one op per sendto | ${cell(nl1)} |`);
    rows.push(`| ${n} | cmdline (\`tc -batch\`) | ${cell(cl)} |`);
    rows.push(`| ${n} | one \`tc\` exec per filter | ${cell(pe, scaled ? '~' : '')} |`);
    process.stdout.write(`# N=${n}: netlink ${JSON.stringify(times.netlink)} cmdline ${JSON.stringify(times.cmdline)}\n`);
  }
  netlink.dispose();
  netlink1.dispose();
  process.stdout.write(['', '| N | driver | install (ratio to netlink) | no-op resync (ratio to netlink) |', '|---|---|---|---|', ...rows, ''].join('\n'));
  process.stdout.write(`\n(median of ${repeat} interleaved runs for netlink and cmdline, of 2 for one op per sendto, 1 run for per-exec; ~ = ${perExecMax} execs measured and scaled linearly)\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
