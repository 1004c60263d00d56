// The shared-block layout's side of a pass: the endpoints' representors grouped by eswitch,
// one compiled program per switch's block (core/pipeline/program-switch.ts), kept while the
// switch's inputs are unchanged. Which switch a representor is on is asked of the adapters
// once and remembered until the next full pass.
import { describeError } from '../api/errors.js';
import type { Result } from '../api/result.js';
import type { Endpoint, Eswitch, Netdev } from '../model/attachment.js';
import type { TcFilter } from '../model/tc.js';
import type { EndpointProgram, NodeOptions } from '../pipeline/program-node.js';
import { blockTarget, compileSwitch, groupSwitches, standInSwitch, type RepOnSwitch, type SwitchProgram } from '../pipeline/program-switch.js';

/** The shared-block layout: programs go to one block per eswitch instead of each netdev. */
export interface SharedBlockLayout {
  /** Stand-in uplink for representors that report no eswitch (`--uplink`). */
  readonly uplink?: string;
  /** The eswitch of an endpoint's representor; ok(null) when it reports none. */
  readonly eswitchOf: (ep: Endpoint, rep: Netdev) => Promise<Result<Eswitch | null>>;
}

/** What one target (a netdev, or a shared block) should carry. */
export interface Want {
  readonly target: Netdev;
  readonly filters: readonly TcFilter[];
  readonly key: string;
  readonly programs: EndpointProgram[];
}

export class BlockPrograms {
  /** Representor → its eswitch, forgotten on full passes. */
  private readonly switches = new Map<string, Eswitch | null>();
  /** Compiled block programs by switch id, reused while their key holds. */
  private readonly blocks = new Map<string, { key: string; program: SwitchProgram }>();

  constructor(
    private readonly layout: SharedBlockLayout,
    private readonly nodeOptions: NodeOptions,
  ) {}

  /**
   * One want per switch. An endpoint whose representor's switch cannot be told is left out
   * and named in `unresolved` (the reconciler retries it; whatever it had stays).
   */
  async wants(
    programs: readonly EndpointProgram[],
    repsOf: ReadonlyMap<string, readonly Netdev[]>,
    keys: ReadonlyMap<string, string>,
    full: boolean,
  ): Promise<{ wants: Want[]; unresolved: { endpoint: Endpoint; problem: string }[] }> {
    if (full) this.switches.clear();
    const onSwitch = new Map<string, { rep: string; eswitch: Eswitch | null }[]>();
    const standIn = new Set<string>();
    const unresolved: { endpoint: Endpoint; problem: string }[] = [];
    for (const p of programs) {
      const devs = repsOf.get(p.endpoint.key);
      if (!devs) continue;
      const mine = await this.switchesOf(p.endpoint, devs);
      if (typeof mine === 'string') {
        unresolved.push({ endpoint: p.endpoint, problem: mine });
        continue;
      }
      for (const r of mine) if (r.eswitch === null) standIn.add(r.rep);
      onSwitch.set(p.endpoint.key, mine);
    }
    const stand = this.layout.uplink !== undefined ? standInSwitch(this.layout.uplink, [...standIn]) : undefined;
    const reps = (ep: Endpoint): RepOnSwitch[] | undefined => onSwitch.get(ep.key)?.map((r) => ({ rep: r.rep, eswitch: r.eswitch ?? stand! }));
    const wants: Want[] = [];
    const live = new Set<string>();
    for (const g of groupSwitches(programs, reps, this.nodeOptions.ctZone)) {
      const key = JSON.stringify([g.block, g.ctZone, g.members.map((m) => [m.endpoint, keys.get(m.endpoint), m.ports]), g.receivers.map((m) => [m.endpoint, keys.get(m.endpoint), m.addresses, m.mac])]);
      let cached = this.blocks.get(g.eswitch.id);
      if (!cached || cached.key !== key) {
        cached = { key, program: compileSwitch(g, this.nodeOptions.stateful) };
        this.blocks.set(g.eswitch.id, cached);
      }
      live.add(g.eswitch.id);
      const sp = cached.program;
      wants.push({ target: blockTarget(sp), filters: sp.compiled.filters, key, programs: [...sp.programs] });
    }
    for (const id of this.blocks.keys()) if (!live.has(id)) this.blocks.delete(id);
    return { wants, unresolved };
  }

  /** The switch of each of an endpoint's representors (null: reports none), or why it cannot be told. */
  private async switchesOf(ep: Endpoint, devs: readonly Netdev[]): Promise<{ rep: string; eswitch: Eswitch | null }[] | string> {
    const mine: { rep: string; eswitch: Eswitch | null }[] = [];
    for (const d of devs) {
      let sw = this.switches.get(d.name);
      if (sw === undefined) {
        const r = await this.layout.eswitchOf(ep, d).catch((e: unknown): Result<Eswitch | null> => ({ ok: false, error: { code: 'representor-not-found', device: d.name, cause: String(e) } }));
        if (!r.ok) return describeError(r.error);
        sw = r.value;
        this.switches.set(d.name, sw);
      }
      if (sw === null && this.layout.uplink === undefined) {
        return `representor ${d.name} reports no eswitch (phys_switch_id), so its shared block is unknown; set --uplink to put such ports on one stand-in switch`;
      }
      mine.push({ rep: d.name, eswitch: sw });
    }
    return mine;
  }
}
