// Switchdev discovery on netdevsim (the lab builds its flower_offload add-on, which fakes
// offload): a device with 2 VFs in switchdev mode; the agent's discovery lists the VF
// representors by phys_switch_id/phys_port_name; the accelerated-bridge adapter, given only
// a VF's PCI address, walks sysfs to the uplink and the representor; the agent programs
// them; and every filter's offload state (in_hw / not_in_hw) is read back through the driver.
//
// netdevsim has no VF PCI functions, so the VF → PF links (`/sys/bus/pci/devices/<vf>/physfn`,
// `<pf>/virtfnN`, `<pf>/net/<uplink>`) come from a small tree in a temp dir; everything the
// resolver reads about netdevs (`/sys/class/net`: phys_switch_id, phys_port_name, device)
// is the real kernel's, through a symlink.
import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '../../../core/api/errors.js';
import { discoverRepresentors } from '../../../core/agent/discover.js';
import { NETWORK_STATUS_ANNOTATION, type Pod } from '../../../core/model/k8s.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { switchPorts } from '../../../plugins/sysfs/representor-resolver.js';
import { CaseRun } from './case-run.js';
import type { Ctx } from './context.js';
import { LabAgent, describeFailure, wireAgent } from './lab-agent.js';
import { exec, run, sleep } from './sh.js';

const SUITE = 'switchdev';
/** Ends in 0: the resolver takes the PF number from the last character of the uplink's device. */
const ID = 40;
const SYS = `/sys/bus/netdevsim/devices/netdevsim${ID}`;
const VF_PCI = ['0000:99:00.1', '0000:99:00.2'];
const PF_PCI = '0000:99:00.0';

const attr = (dev: string, name: string): Promise<string | undefined> => readFile(`/sys/class/net/${dev}/${name}`, 'utf8').then((s) => s.trim(), () => undefined);

export async function switchdev(ctx: Ctx): Promise<void> {
  const m = await exec.run('modprobe', ['netdevsim']);
  if (!ctx.check(SUITE, 'netdevsim loads', m.exitCode === 0, `missing kernel feature: netdevsim (${m.stderr.trim()})`)) return;
  const param = '/sys/module/netdevsim/parameters/flower_offload';
  const hasParam = await readFile(param, 'utf8').then(() => true, () => false);
  if (!ctx.check(SUITE, "the lab's netdevsim has the flower_offload add-on", hasParam, `${param} is missing: rebuild the lab (run-in-vm.sh --build)`)) return;

  const root = await mkdtemp(join(tmpdir(), 'sysfs-overlay-'));
  let created = false;
  try {
    await writeFile(param, 'Y');
    await writeFile('/sys/bus/netdevsim/new_device', `${ID} 1`);
    created = true;
    for (let i = 0; i < 100 && (await ls(`${SYS}/net`)).length === 0; i++) await sleep(100);
    await writeFile(`${SYS}/sriov_numvfs`, '2');
    await run('devlink', ['dev', 'eswitch', 'set', `netdevsim/netdevsim${ID}`, 'mode', 'switchdev']);
    let ports: string[] = [];
    for (let i = 0; i < 100 && (ports = await ls(`${SYS}/net`)).length < 3; i++) await sleep(100);
    const named = await Promise.all(ports.map(async (d) => ({ d, port: await attr(d, 'phys_port_name'), sw: await attr(d, 'phys_switch_id') })));
    ctx.info(SUITE, `netdevsim${ID} netdevs: ${named.map((n) => `${n.d} (phys_port_name ${n.port}, phys_switch_id ${n.sw})`).join(', ')}`);
    const uplink = named.find((n) => /^p\d+$/.test(n.port ?? ''))?.d;
    const reps = [0, 1].map((i) => named.find((n) => n.port === `pf0vf${i}`)?.d);
    if (!ctx.check(SUITE, 'switchdev mode shows an uplink (phys_port_name pN) and representors pf0vf0, pf0vf1', uplink !== undefined && reps.every((r) => r !== undefined), JSON.stringify(named))) return;
    for (const d of ports) await run('ip', ['link', 'set', d, 'up']);

    // 1. the agent's discovery of representors an earlier run may have programmed
    const real = new NodeSysfs('/');
    const found = (await discoverRepresentors(real)).map((n) => n.name);
    ctx.check(SUITE, 'discovery (phys_switch_id + phys_port_name pfNvfM) lists both representors and not the uplink', reps.every((r) => found.includes(r!)) && !found.includes(uplink!), `found ${found.join(', ')}`);
    const sw = await switchPorts(real, uplink!);
    ctx.check(SUITE, `the uplink ${uplink} and its representors share one switch`, sw.ok && reps.every((r) => sw.value.ports.some((p) => p.name === r)), sw.ok ? JSON.stringify(sw.value) : describeError(sw.error));

    // 2. resolution from a VF PCI address alone, through the sysfs tree
    const devices = join(root, 'sys/bus/pci/devices');
    await mkdir(join(devices, PF_PCI, 'net', uplink!), { recursive: true });
    await symlink('/sys/class', join(root, 'sys/class'));
    for (const [i, vf] of VF_PCI.entries()) {
      await mkdir(join(devices, vf));
      await symlink(`../${PF_PCI}`, join(devices, vf, 'physfn'));
      await symlink(`../${vf}`, join(devices, PF_PCI, `virtfn${i}`));
    }
    ctx.info(SUITE, `/sys/class/net/${uplink}/device -> ${await readlink(`/sys/class/net/${uplink}/device`).catch(() => '?')}`);
    const wiring = await wireAgent(ctx.tcDriver, new NodeSysfs(root));
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
    if (created) await writeFile('/sys/bus/netdevsim/del_device', `${ID}`).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

async function ls(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return readdir(dir).then((x) => x.sort(), () => []);
}

function describeFilter(f: TcFilter): string {
  const keys = Object.entries(f.match).map(([k, v]) => `${k}=${typeof v === 'object' ? `${v.start}-${v.end}` : v}`).join(' ');
  return `${f.hook} chain ${f.chain} pref ${f.pref} ${f.protocol}${keys ? ` ${keys}` : ''} -> ${f.actions.map((a) => a.kind).join('+')}`;
}

/** The pods' network-status without representor-device: the adapter has to ask sysfs. */
function withPciOnly(c: Cluster, pci: Readonly<Record<string, string>>): Cluster {
  const pods = c.pods.map((p): Pod => {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    const raw = p.metadata.annotations?.[NETWORK_STATUS_ANNOTATION];
    if (!raw || !pci[key]) return p;
    const entries = (JSON.parse(raw) as Record<string, unknown>[]).map((e) => (e['device-info'] ? { ...e, 'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': pci[key] } } } : e));
    return { ...p, metadata: { ...p.metadata, annotations: { ...p.metadata.annotations, [NETWORK_STATUS_ANNOTATION]: JSON.stringify(entries) } } };
  });
  return { ...c, pods };
}
