// Switchdev discovery on netdevsim (the lab builds its flower_offload add-on, which fakes
// offload): a device with 2 VFs in switchdev mode; the agent's discovery lists the VF
// representors by phys_switch_id/phys_port_name; the accelerated-bridge adapter, given only
// a VF's PCI address, walks sysfs to the uplink and the representor; the agent programs
// them; and every filter's offload state (in_hw / not_in_hw) is read back through the driver.
// The device and the VFs' PCI tree: ./netdevsim.ts.
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../../core/api/errors.js';
import { discoverRepresentors } from '../../../core/agent/discover.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { switchPorts } from '../../../plugins/sysfs/representor-resolver.js';
import { CaseRun } from './case-run.js';
import type { Ctx } from './context.js';
import { LabAgent, describeFailure, wireAgent } from './lab-agent.js';
import { createSwitchdev, withPciOnly } from './netdevsim.js';
import { exec, run } from './sh.js';

const SUITE = 'switchdev';
/** Ends in 0: the resolver takes the PF number from the last character of the uplink's device. */
const ID = 40;

export async function switchdev(ctx: Ctx): Promise<void> {
  const dev = await createSwitchdev(ctx, SUITE, ID, 2);
  if (!dev) return;
  try {
    const { uplink, reps } = dev;
    const VF_PCI = dev.vfPci;

    // 1. the agent's discovery of representors an earlier run may have programmed
    const real = new NodeSysfs('/');
    const found = (await discoverRepresentors(real)).map((n) => n.name);
    ctx.check(SUITE, 'discovery (phys_switch_id + phys_port_name pfNvfM) lists both representors and not the uplink', reps.every((r) => found.includes(r)) && !found.includes(uplink), `found ${found.join(', ')}`);
    const sw = await switchPorts(real, uplink);
    ctx.check(SUITE, `the uplink ${uplink} and its representors share one switch`, sw.ok && reps.every((r) => sw.value.ports.some((p) => p.name === r)), sw.ok ? JSON.stringify(sw.value) : describeError(sw.error));

    // 2. resolution from a VF PCI address alone, through the sysfs tree
    ctx.info(SUITE, `/sys/class/net/${uplink}/device -> ${await readlink(`/sys/class/net/${uplink}/device`).catch(() => '?')}`);
    const wiring = await wireAgent(ctx.tcDriver, new NodeSysfs(dev.sysfsRoot));
    const adapter = wiring.adapters.find((a) => a.name === 'accelerated-bridge')!;
    for (const [i, vf] of VF_PCI.entries()) {
      const r = await adapter.resolveNetdevs({ adapter: 'accelerated-bridge', network: 'default/sw-net', interface: 'net1', ips: [], deviceInfo: { type: 'pci', pci: { 'pci-address': vf } } });
      ctx.check(SUITE, `the accelerated-bridge adapter resolves VF ${vf} to representor ${reps[i]} via sysfs`, r.ok && r.value.length === 1 && r.value[0]!.name === reps[i], r.ok ? JSON.stringify(r.value) : describeError(r.error));
    }

    // 3. the agent programs the representors found that way
    const loaded = await CaseRun.load(ctx, join(ctx.repo, 'test/datapath/scenarios/switchdev.yaml'), SUITE);
    if (!loaded) return;
    const cluster = withPciOnly(loaded.c.cluster, { 'sw/vf0': VF_PCI[0]!, 'sw/vf1': VF_PCI[1]! });
    const agent = new LabAgent(wiring, loaded.c.node);
    try {
      const pass = await agent.apply(cluster, true);
      ctx.check(SUITE, 'the agent programs the pods found by PCI address', pass.failures.length === 0 && pass.result.netdevs.some((n) => n.netdev === reps[0]), pass.failures.map(describeFailure).join('; ') || JSON.stringify(pass.result.netdevs.map((n) => n.netdev)));
      const drift = await agent.drift(pass.result);
      ctx.check(SUITE, 'the installed program on the representors equals the compiled one', drift.length === 0, drift.join('; '));

      // 4. offload state per filter, as the driver reads it
      for (const np of pass.result.netdevs) {
        const o = await wiring.driver.observe({ name: np.netdev });
        if (!o.ok) {
          ctx.check(SUITE, `observe ${np.netdev}`, false, describeError(o.error));
          continue;
        }
        for (const hook of ['ingress', 'egress'] as const) {
          const fs = o.value.filters.filter((f) => f.hook === hook);
          if (fs.length === 0) continue;
          ctx.info(SUITE, `${np.netdev} ${hook} hook: ${fs.length} filters, ${fs.filter((f) => f.inHw === true).length} in_hw, ${fs.filter((f) => f.inHw === false).length} not_in_hw, ${fs.filter((f) => f.inHw === undefined).length} unknown`);
          for (const f of fs) ctx.info(SUITE, `  ${np.netdev} ${describeFilter(f)}  ${f.inHw === true ? 'in_hw' : f.inHw === false ? 'not_in_hw' : 'offload unknown'}`);
        }
        ctx.check(SUITE, `every filter on ${np.netdev} reports its offload state`, o.value.filters.every((f) => f.inHw !== undefined), '');
        ctx.check(SUITE, `a representor's egress hook is never offloaded (${np.netdev}: not_in_hw)`, o.value.filters.filter((f) => f.hook === 'egress').every((f) => f.inHw === false), '');
      }

      // 5. skip_sw: accepted on the ingress hook and reported in_hw by the driver; refused on egress
      const rep = reps[0]!;
      await run('tc', ['filter', 'add', 'dev', rep, 'ingress', 'chain', '10999', 'pref', '7', 'protocol', 'ip', 'flower', 'skip_sw', 'dst_ip', '192.0.2.7', 'action', 'drop']);
      const o = await wiring.driver.observe({ name: rep });
      const hw = o.ok ? o.value.filters.find((f) => f.chain === 10999 && f.pref === 7) : undefined;
      ctx.check(SUITE, 'a skip_sw filter is reported in_hw by the driver', hw?.inHw === true, JSON.stringify(hw));
      const eg = await exec.run('tc', ['filter', 'add', 'dev', rep, 'egress', 'chain', '10999', 'pref', '7', 'protocol', 'ip', 'flower', 'skip_sw', 'dst_ip', '192.0.2.7', 'action', 'drop']);
      ctx.check(SUITE, "skip_sw on a representor's egress hook is refused (hardware offloads the ingress hook only)", eg.exitCode !== 0, eg.stderr.trim());
      const again = await agent.apply(cluster, true);
      const after = await wiring.driver.observe({ name: rep });
      ctx.check(SUITE, 'the next full pass removes the stray skip_sw filter from an owned chain', again.failures.length === 0 && after.ok && !after.value.filters.some((f) => f.chain === 10999), again.failures.map(describeFailure).join('; '));

      // 6. removal
      const gone = await agent.apply({ namespaces: [], pods: [], networks: [], policies: [], invalidPolicies: [] }, false);
      const left = [];
      for (const r of reps) {
        const x = await wiring.driver.observe({ name: r! });
        if (!x.ok || x.value.filters.length > 0 || x.value.qdisc !== null) left.push(r);
      }
      ctx.check(SUITE, 'the agent removes its filters and qdiscs from the representors', gone.failures.length === 0 && left.length === 0, `left on ${left.join(', ')}`);
    } finally {
      await agent.stop();
    }
  } finally {
    await dev.remove();
  }
}

function describeFilter(f: TcFilter): string {
  const keys = Object.entries(f.match).map(([k, v]) => `${k}=${typeof v === 'object' ? `${v.start}-${v.end}` : v}`).join(' ');
  return `${f.hook} chain ${f.chain} pref ${f.pref} ${f.protocol}${keys ? ` ${keys}` : ''} -> ${f.actions.map((a) => a.kind).join('+')}`;
}
