// The behaviour every TcDriver must show, as one function any driver's test can call with a
// way to make a fresh device and seed it (like ESLint's RuleTester). The cases are the
// kernel's rules as measured in the lab, so the dry-run driver (run on every `npm test`) and
// the cmdline driver (run in the lab VM: test/drivers/tc-cmdline/contract.lab.ts) must agree.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Result } from '../../core/api/result.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Applied, Handled, Plan } from '../../core/model/plan.js';
import type { Hook, ObservedTc, QdiscKind, TcFilter } from '../../core/model/tc.js';
import { filterKey } from '../../core/model/tc.js';
import { diff } from '../../core/pipeline/diff.js';
import { toBatchLines } from '../../drivers/tc-cmdline/batch.js';

/** Another tool's non-flower filter (`matchall action pass`). */
export interface SeedMatchall {
  readonly hook: Hook;
  readonly chain: number;
  readonly pref: number;
}

export interface ContractSeed {
  readonly qdisc: QdiscKind | null;
  /** Flower filters, in or out of the agent's range (out of it they are foreign). Clsact only. */
  readonly filters?: readonly TcFilter[];
  readonly matchall?: readonly SeedMatchall[];
}

export interface TcDriverSubject {
  readonly driver: TcDriver;
  /** A device of its own, in its seeded state (a bare device until seed is called). */
  readonly dev: Netdev;
  seed(state: ContractSeed): Promise<void>;
  cleanup?(): Promise<void>;
}

/** `tc -batch` lines that build a seed on a real device (for drivers that talk to a kernel). */
export function seedBatchLines(dev: Netdev, s: ContractSeed): string[] {
  if (s.qdisc === null) return [];
  const qdisc = s.qdisc === 'clsact' ? toBatchLines(dev, { ops: [{ op: 'add-qdisc' }] }) : [`qdisc add dev ${dev.name} ingress`];
  const flower = toBatchLines(dev, { ops: (s.filters ?? []).map((filter) => ({ op: 'add' as const, filter })) });
  const matchall = (s.matchall ?? []).map((m) => `filter add dev ${dev.name} ${m.hook} chain ${m.chain} pref ${m.pref} protocol all matchall action pass`);
  return [...qdisc, ...flower, ...matchall];
}

// ---- a small program in the shapes the compiler emits (docs: the TC program)

const f = (hook: Hook, chain: number, pref: number, protocol: TcFilter['protocol'], match: TcFilter['match'], actions: TcFilter['actions']): TcFilter => ({ hook, chain, pref, protocol, match, actions });
const PASS = [{ kind: 'pass' }] as const;
const DROP = [{ kind: 'drop' }] as const;
const COMMIT_PASS = [{ kind: 'ct', zone: 0, commit: true }, { kind: 'pass' }] as const;

export const CONTRACT_PROGRAM: readonly TcFilter[] = [
  f('ingress', 10001, 2, 'ip', { ipProto: 'tcp', dstPort: { start: 5000, end: 5900 } }, COMMIT_PASS),
  f('ingress', 10001, 2, 'ip', { ipProto: 'udp', dstPort: { start: 53, end: 53 } }, COMMIT_PASS),
  f('ingress', 10001, 9, 'all', {}, DROP),
  f('ingress', 10000, 1, 'all', { ctState: '+trk+est' }, PASS),
  f('ingress', 10000, 2, 'ip', { ctState: '+trk+new', dstIp: '10.0.0.0/24' }, [{ kind: 'goto', chain: 10001 }]),
  f('ingress', 10000, 2, 'ip', { ctState: '+trk+new', dstIp: '10.1.0.5/32' }, COMMIT_PASS),
  f('ingress', 10000, 3, 'ipv6', { ipProto: 'icmpv6', icmpType: 135 }, PASS),
  f('ingress', 10000, 4, '802.1Q', { vlanEthType: 'ip', ctState: '+trk+new', dstIp: '10.0.0.0/24' }, [{ kind: 'goto', chain: 10001 }]),
  f('ingress', 10000, 9, 'all', {}, DROP),
  f('ingress', 0, 10000, 'arp', {}, PASS),
  f('ingress', 0, 10001, 'ip', {}, [{ kind: 'ct', zone: 0, commit: false }, { kind: 'goto', chain: 10000 }]),
  f('ingress', 0, 10004, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ip' }, [{ kind: 'ct', zone: 0, commit: false }, { kind: 'goto', chain: 10000 }]),
  f('ingress', 0, 10009, 'all', {}, DROP),
  f('egress', 0, 10001, 'ip', {}, COMMIT_PASS),
  f('egress', 0, 10002, 'ipv6', { srcIp: 'fd00::/64' }, COMMIT_PASS),
];

const keys = (fs: readonly TcFilter[]): string[] => fs.map(filterKey).sort();
const ops = (plan: Plan): string[] => plan.ops.map((o) => o.op);

function value<T>(r: Result<T>, what: string): T {
  if (!r.ok) assert.fail(`${what}: ${JSON.stringify(r.error)}`);
  return r.value;
}

function handled(o: ObservedTc, pred: (x: TcFilter) => boolean): Handled {
  const x = o.filters.find(pred);
  assert.ok(x && x.handle !== undefined, 'filter not observed');
  return x as Handled;
}

/** Registers the contract cases for one driver under `describe(name)`. */
export function tcDriverContract(name: string, makeSubject: () => Promise<TcDriverSubject>): void {
  const withSubject = (title: string, body: (s: TcDriverSubject) => Promise<void>): void => {
    test(title, async () => {
      const s = await makeSubject();
      try {
        await body(s);
      } finally {
        await s.cleanup?.();
      }
    });
  };
  const observe = async (s: TcDriverSubject): Promise<ObservedTc> => value(await s.driver.observe(s.dev), 'observe');
  const apply = async (s: TcDriverSubject, plan: Plan): Promise<Applied> => value(await s.driver.apply(s.dev, plan), 'apply');
  /** observe → diff → apply until diff has nothing left; returns the plans applied. */
  const converge = async (s: TcDriverSubject, desired: readonly TcFilter[]): Promise<Plan[]> => {
    const plans: Plan[] = [];
    for (let i = 0; i < 3; i++) {
      const { plan } = diff(desired, await observe(s));
      if (plan.ops.length === 0) return plans;
      await apply(s, plan);
      plans.push(plan);
    }
    assert.fail('did not converge in 3 passes');
  };

  describe(`TcDriver contract: ${name}`, () => {
    withSubject('a bare device reads as no qdisc, no filters, nothing foreign', async (s) => {
      assert.deepEqual(await observe(s), { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } });
    });

    withSubject('observe → diff → apply converges in one pass, and observe then returns exactly the desired filters', async (s) => {
      const plans = await converge(s, CONTRACT_PROGRAM);
      assert.equal(plans.length, 1);
      const o = await observe(s);
      assert.equal(o.qdisc, 'clsact');
      assert.deepEqual(keys(o.filters), keys(CONTRACT_PROGRAM));
      assert.deepEqual(o.foreign, { ingress: 0, egress: 0 });
    });

    withSubject('observed filters carry handles, unique within a chain/pref', async (s) => {
      await converge(s, CONTRACT_PROGRAM);
      const o = await observe(s);
      const places = o.filters.map((x) => `${x.hook}/${x.chain}/${x.pref}/${x.handle}`);
      assert.ok(o.filters.every((x) => Number.isInteger(x.handle) && x.handle! >= 1));
      assert.equal(new Set(places).size, places.length);
    });

    withSubject('Applied counts what the plan did', async (s) => {
      const { plan } = diff(CONTRACT_PROGRAM, await observe(s));
      assert.deepEqual(await apply(s, plan), { added: CONTRACT_PROGRAM.length, replaced: 0, deleted: 0, qdisc: 'added' });
    });

    withSubject('a changed program converges: new actions replace in place, a changed match is add then delete, removed filters go', async (s) => {
      await converge(s, CONTRACT_PROGRAM);
      const before = await observe(s);
      const changed = CONTRACT_PROGRAM.filter((x) => !(x.chain === 10000 && x.pref === 3)) // removed
        .map((x) => (x.chain === 10000 && x.pref === 1 ? { ...x, actions: DROP } : x)) // new actions
        .map((x) => (x.match.dstIp === '10.1.0.5/32' ? { ...x, match: { ...x.match, dstIp: '10.1.0.6/32' } } : x)); // new match
      const plans = await converge(s, changed);
      assert.deepEqual(plans.map((p) => ops(p).sort()), [['add', 'delete', 'delete', 'replace']]);
      const after = await observe(s);
      assert.deepEqual(keys(after.filters), keys(changed));
      const est = (o: ObservedTc) => handled(o, (x) => x.match.ctState === '+trk+est').handle;
      assert.equal(est(after), est(before), 'replace keeps the handle');
    });

    withSubject('an empty desired program on a device with only our filters removes the qdisc', async (s) => {
      await converge(s, CONTRACT_PROGRAM);
      await converge(s, []);
      assert.deepEqual(await observe(s), { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } });
    });

    withSubject('foreign filters (flower outside our prefs, matchall) are counted per hook and survive our changes', async (s) => {
      await s.seed({
        qdisc: 'clsact',
        filters: [f('ingress', 0, 100, 'ip', { dstIp: '192.0.2.1/32' }, DROP), f('egress', 0, 200, 'ip', {}, PASS)],
        matchall: [{ hook: 'ingress', chain: 7, pref: 1 }],
      });
      assert.deepEqual(await observe(s), { qdisc: 'clsact', filters: [], foreign: { ingress: 2, egress: 1 } });
      await converge(s, CONTRACT_PROGRAM);
      await converge(s, []);
      const o = await observe(s);
      assert.deepEqual(o, { qdisc: 'clsact', filters: [], foreign: { ingress: 2, egress: 1 } }, 'qdisc kept: others still use it');
    });

    withSubject('a plain ingress qdisc is reported as such, with its owned filters and no egress hook', async (s) => {
      await s.seed({ qdisc: 'ingress' });
      const filter = f('ingress', 0, 10000, 'arp', {}, PASS);
      await apply(s, { ops: [{ op: 'add', filter }] });
      const o = await observe(s);
      assert.equal(o.qdisc, 'ingress');
      assert.deepEqual(keys(o.filters), keys([filter]));
      assert.deepEqual(o.foreign, { ingress: 0, egress: 0 });
    });

    withSubject('adding a filter that exists fails at its line; the lines before stay applied, the ones after never run', async (s) => {
      const [a, b, c] = [CONTRACT_PROGRAM[0]!, CONTRACT_PROGRAM[1]!, CONTRACT_PROGRAM[2]!];
      const r = await s.driver.apply(s.dev, { ops: [{ op: 'add-qdisc' }, { op: 'add', filter: a }, { op: 'add', filter: b }, { op: 'add', filter: a }, { op: 'add', filter: c }] });
      assert.ok(!r.ok && r.error.code === 'tc-batch-failed', JSON.stringify(r));
      assert.equal(r.error.line, 4);
      assert.equal(r.error.text, toBatchLines(s.dev, { ops: [{ op: 'add', filter: a }] })[0]);
      assert.match(r.error.stderr, /exists/i);
      assert.deepEqual(keys((await observe(s)).filters), keys([a, b]));
    });

    withSubject('adding to a pref held by another protocol fails', async (s) => {
      await converge(s, CONTRACT_PROGRAM);
      const r = await s.driver.apply(s.dev, { ops: [{ op: 'add', filter: f('ingress', 10000, 2, 'ipv6', {}, DROP) }] });
      assert.ok(!r.ok && r.error.code === 'tc-batch-failed' && r.error.line === 1);
    });

    withSubject('replace by handle changes the actions and keeps the handle', async (s) => {
      await converge(s, CONTRACT_PROGRAM);
      const old = handled(await observe(s), (x) => x.match.dstIp === '10.1.0.5/32');
      const next = { ...old, actions: DROP };
      await apply(s, { ops: [{ op: 'replace', filter: next }] });
      const now = handled(await observe(s), (x) => x.match.dstIp === '10.1.0.5/32');
      assert.deepEqual([now.handle, now.actions], [old.handle, DROP]);
    });

    withSubject('replace by handle may change key values but not the mask', async (s) => {
      await converge(s, CONTRACT_PROGRAM);
      const old = handled(await observe(s), (x) => x.match.dstIp === '10.1.0.5/32');
      await apply(s, { ops: [{ op: 'replace', filter: { ...old, match: { ...old.match, dstIp: '10.1.0.7/32' } } }] });
      const moved = handled(await observe(s), (x) => x.match.dstIp === '10.1.0.7/32');
      assert.equal(moved.handle, old.handle);
      const r = await s.driver.apply(s.dev, { ops: [{ op: 'replace', filter: { ...moved, match: { ...moved.match, dstIp: '10.1.0.0/16' } } }] });
      assert.ok(!r.ok && r.error.code === 'tc-batch-failed');
    });

    withSubject('replace of a handle that does not exist creates it (tc replace = create or replace)', async (s) => {
      await converge(s, CONTRACT_PROGRAM);
      const x = f('ingress', 10000, 2, 'ip', { ctState: '+trk+new', dstIp: '10.9.0.0/24' }, DROP);
      await apply(s, { ops: [{ op: 'replace', filter: { ...x, handle: 77 } }] });
      assert.equal(handled(await observe(s), (y) => y.match.dstIp === '10.9.0.0/24').handle, 77);
    });

    withSubject('delete by handle removes exactly that filter; deleting it again fails', async (s) => {
      await converge(s, CONTRACT_PROGRAM);
      const victim = handled(await observe(s), (x) => x.match.dstIp === '10.1.0.5/32');
      await apply(s, { ops: [{ op: 'delete', filter: victim }] });
      assert.deepEqual(keys((await observe(s)).filters), keys(CONTRACT_PROGRAM.filter((x) => x.match.dstIp !== '10.1.0.5/32')));
      const r = await s.driver.apply(s.dev, { ops: [{ op: 'delete', filter: victim }] });
      assert.ok(!r.ok && r.error.code === 'tc-batch-failed' && r.error.line === 1);
    });

    withSubject('filter ops without a qdisc fail; a second add-qdisc fails (exclusive)', async (s) => {
      const r1 = await s.driver.apply(s.dev, { ops: [{ op: 'add', filter: CONTRACT_PROGRAM[0]! }] });
      assert.ok(!r1.ok && r1.error.code === 'tc-batch-failed');
      await apply(s, { ops: [{ op: 'add-qdisc' }] });
      const r2 = await s.driver.apply(s.dev, { ops: [{ op: 'add-qdisc' }] });
      assert.ok(!r2.ok && r2.error.code === 'tc-batch-failed');
    });

    withSubject('delete-qdisc drops every filter, foreign ones too', async (s) => {
      await s.seed({ qdisc: 'clsact', matchall: [{ hook: 'egress', chain: 0, pref: 5 }] });
      await converge(s, CONTRACT_PROGRAM);
      assert.deepEqual(await apply(s, { ops: [{ op: 'delete-qdisc' }] }), { added: 0, replaced: 0, deleted: 0, qdisc: 'deleted' });
      assert.deepEqual(await observe(s), { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } });
    });
  });
}
