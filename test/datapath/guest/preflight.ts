// Kernel features the datapath suite needs, checked before anything runs. A missing one is a
// failed check naming it, never a silent skip.
import type { Ctx } from './context.js';
import { exec, run } from './sh.js';

const MODULES: readonly (readonly [string, string])[] = [
  ['cls_flower', 'the TC flower classifier'],
  ['act_ct', 'the TC conntrack action'],
  ['act_gact', 'the TC pass/drop/goto actions'],
  ['sch_ingress', 'the clsact and ingress qdiscs'],
  ['sctp', 'SCTP sockets (SCTP probes)'],
  ['bridge', 'Linux bridges (the eswitch stand-in)'],
  ['veth', 'veth pairs (pod interface + representor)'],
  ['bonding', 'bonding (the bond-cni case)'],
  ['nf_conntrack_netlink', 'ctnetlink (conntrack flush between cases)'],
];

export async function preflight(ctx: Ctx): Promise<boolean> {
  let ok = true;
  // DATAPATH_EXTRA_MODULES=a,b: more modules to require (shows what a missing feature looks like)
  const extra = (process.env['DATAPATH_EXTRA_MODULES'] ?? '').split(',').filter((m) => m !== '').map((m) => [m, `module ${m} (DATAPATH_EXTRA_MODULES)`] as const);
  for (const [m, what] of [...MODULES, ...extra]) {
    const r = await exec.run('modprobe', [m]);
    if (r.exitCode !== 0) ok = ctx.check('preflight', `kernel feature ${m}`, false, `missing kernel feature: ${what} (modprobe ${m}: ${r.stderr.trim() || `exit ${r.exitCode}`})`) && ok;
  }
  // modules can load and still not do what we need: one real filter of each kind we emit
  const dev = 'dppreflight0';
  try {
    await run('ip', ['link', 'add', dev, 'type', 'dummy']);
    await run('tc', ['qdisc', 'add', 'dev', dev, 'clsact']);
    await run('tc', ['filter', 'add', 'dev', dev, 'ingress', 'chain', '0', 'pref', '1', 'protocol', 'ip', 'flower', 'action', 'ct', 'zone', '0', 'pipe', 'action', 'goto', 'chain', '1']);
    await run('tc', ['filter', 'add', 'dev', dev, 'ingress', 'chain', '1', 'pref', '1', 'protocol', 'ip', 'flower', 'ct_state', '+trk+new', 'ip_proto', 'sctp', 'dst_port', '5000-5010', 'action', 'ct', 'commit', 'zone', '0', 'pipe', 'action', 'pass']);
    ctx.check('preflight', 'tc flower with act_ct, ct_state and port ranges', true);
  } catch (e) {
    ok = ctx.check('preflight', 'tc flower with act_ct, ct_state and port ranges', false, `missing kernel feature: ${(e as Error).message}`) && ok;
  } finally {
    await exec.run('ip', ['link', 'del', dev]);
  }
  if (ctx.layout === 'shared-block') ok = (await sharedBlock(ctx)) && ok;
  const sctp = await ctx.engine.sctp();
  if (sctp !== true) ok = ctx.check('preflight', 'SCTP sockets', false, `missing kernel feature: SCTP sockets: ${sctp}`) && ok;
  return ok;
}

/** The shared-block layout's kernel features: a port bound to an ingress block, a block filter with indev and ct. */
async function sharedBlock(ctx: Ctx): Promise<boolean> {
  const dev = 'dppreflight1';
  const name = 'tc shared ingress block (clsact ingress_block, filter add block N, indev, ct)';
  try {
    await run('ip', ['link', 'add', dev, 'type', 'dummy']);
    await run('tc', ['qdisc', 'add', 'dev', dev, 'ingress_block', '4242', 'clsact']);
    await run('tc', ['filter', 'add', 'block', '4242', 'chain', '0', 'pref', '1', 'protocol', 'all', 'flower', 'indev', dev, 'action', 'ct', 'zone', '0', 'pipe', 'action', 'goto', 'chain', '1']);
    return ctx.check('preflight', name, true);
  } catch (e) {
    return ctx.check('preflight', name, false, `missing kernel feature: ${(e as Error).message}`);
  } finally {
    await exec.run('ip', ['link', 'del', dev]);
  }
}
