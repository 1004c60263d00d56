// diff: the ordered, make-before-break plan from observed to desired. Pure, so the tests
// assert the plan itself (and, through tc-sim.ts, what traffic sees while it is applied).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { PlanOp } from '../../../core/model/plan.js';
import type { DirectionRules, RuleSet } from '../../../core/model/rules.js';
import { filterIdentity, filterKey, type Hook, type ObservedTc, type TcFilter } from '../../../core/model/tc.js';
import { compile, DEFAULT_COMPILE_OPTIONS } from '../../../core/pipeline/compile.js';
import { diff, renumberPortChains } from '../../../core/pipeline/diff.js';
import { isOwned, PORT_CHAIN_FIRST, VERDICT_CHAIN } from '../../../core/pipeline/layout.js';
import type { Frame } from '../../../core/tcmodel/packet.js';
import { compileOptions, ruleSet } from './arbitraries.js';
import { applyOp, applyPlan, classifier, observe, observedOf, stateOf } from './tc-sim.js';

const rs = (ingress: DirectionRules | null, egress: DirectionRules | null): RuleSet => ({ endpoint: 'ns1/p/net1', network: 'ns1/net1', ingress, egress, diagnostics: [] });
const allow = (peers: string[], ports: DirectionRules['grants'][number]['ports'] = 'all'): DirectionRules => ({ policies: ['ns1/p'], grants: [{ policy: 'ns1/p', rule: 0, peers, ports }] });
const tcp = (...ps: number[]) => ps.map((p) => ({ protocol: 'TCP' as const, start: p, end: p }));
const program = (r: RuleSet, stateful = true) => compile(r, { ...DEFAULT_COMPILE_OPTIONS, stateful }).filters;
/** Enough peers and ports for a port chain. */
const FOUR_PEERS = ['10.0.0.2/32', '10.0.0.5/32', '10.0.0.9/32', '10.0.0.20/32'];
const none: ObservedTc = { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } };
const filterOf = (op: PlanOp): TcFilter | undefined => ('filter' in op ? op.filter : undefined);
const describeOp = (op: PlanOp): string => (filterOf(op) ? `${op.op} ${filterKey(filterOf(op)!)}` : op.op);
const isCatchAll = (f: TcFilter): boolean => f.protocol === 'all' && Object.keys(f.match).length === 0;

describe('installing from nothing', () => {
  const desired = program(rs(allow(FOUR_PEERS, tcp(80, 443, 8080, 8443, 9090)), allow(['0.0.0.0/0', '::/0'])));
  const { plan, unavailable } = diff(desired, none);

  test('the qdisc comes first, then every desired filter exactly once', () => {
    assert.equal(unavailable, undefined);
    assert.deepEqual(plan.ops[0], { op: 'add-qdisc' });
    assert.ok(plan.ops.slice(1).every((op) => op.op === 'add'));
    assert.deepEqual(plan.ops.slice(1).map((op) => filterKey(filterOf(op)!)).sort(), desired.map(filterKey).sort());
  });

  test('a filter that jumps to a chain is added only once that chain is complete (port chains, then verdict, then entry)', () => {
    const adds = plan.ops.slice(1).map((op) => filterOf(op)!);
    assert.ok(adds.some((f) => f.chain === PORT_CHAIN_FIRST), 'the case has a port chain');
    assert.ok(adds.some((f) => f.chain === VERDICT_CHAIN), 'the case has a verdict chain');
    const size = (hook: string, chain: number) => desired.filter((f) => f.hook === hook && f.chain === chain).length;
    adds.forEach((f, i) => {
      for (const a of f.actions) {
        if (a.kind !== 'goto') continue;
        const before = adds.slice(0, i).filter((g) => g.hook === f.hook && g.chain === a.chain).length;
        assert.equal(before, size(f.hook, a.chain), `op ${i + 1}: ${f.hook} chain ${f.chain} jumps to chain ${a.chain} before it is complete`);
      }
    });
  });

  test('within a chain of a hook the catch-all (drop, or the entry dispatch) is added last', () => {
    const adds = plan.ops.slice(1).map((op) => filterOf(op)!);
    for (const place of new Set(adds.map((f) => `${f.hook}/${f.chain}`))) {
      const inChain = adds.filter((f) => `${f.hook}/${f.chain}` === place);
      assert.equal(inChain.findIndex(isCatchAll), inChain.length - 1, `${place}: the catch-all comes last`);
    }
  });
});

describe('changes', () => {
  test('idempotence: diff against an observed copy of the desired program is empty', () => {
    fc.assert(
      fc.property(ruleSet, compileOptions, (r, o) => {
        const desired = compile(r, o).filters;
        assert.deepEqual(diff(desired, observe(desired)).plan.ops, []);
      }),
    );
  });

  test('a changed action on the same match is one replace carrying the observed handle', () => {
    const old = program(rs(null, allow(['10.0.0.2/32'])), true);
    const observed = observe(old, 'clsact', { ingress: 0, egress: 0 }, 100);
    const target = observed.filters.find((f) => f.chain === VERDICT_CHAIN && f.match.dstIp === '10.0.0.2/32' && f.protocol === 'ip')!;
    const desired = old.map((f) => (filterIdentity(f) === filterIdentity(target) ? { ...f, actions: [{ kind: 'drop' as const }] } : f));
    const { plan } = diff(desired, observed);
    assert.deepEqual(plan.ops, [{ op: 'replace', filter: { ...target, actions: [{ kind: 'drop' }] } }]);
  });

  test('a changed match is add-new-then-delete-old (upstream bug 16 deleted first)', () => {
    const observed = observe(program(rs(null, allow(['10.0.0.2/32']))));
    const desired = program(rs(null, allow(['10.0.0.3/32'])));
    const ops = diff(desired, observed).plan.ops.map(describeOp);
    const adds = ops.filter((o) => o.startsWith('add ') && o.includes('10.0.0.3/32'));
    const dels = ops.filter((o) => o.startsWith('delete ') && o.includes('10.0.0.2/32'));
    assert.equal(adds.length, 3, 'untagged, 802.1Q, 802.1ad');
    assert.equal(dels.length, 3);
    assert.ok(ops.indexOf(adds.at(-1)!) < ops.indexOf(dels[0]!), 'every add before any delete');
    assert.equal(ops.length, 6, 'nothing else changes');
  });

  test('bug 24: the same number of filters but different ones is not "no change"', () => {
    const observed = observe(program(rs(null, allow(['10.0.0.2/32']))));
    const desired = program(rs(null, allow(['10.0.0.3/32'])));
    assert.equal(desired.length, observed.filters.length);
    assert.notDeepEqual(diff(desired, observed).plan.ops, []);
  });

  test('a duplicate observed filter (same identity, two handles) is deleted, the first kept (upstream kept both)', () => {
    const desired = program(rs(allow(['10.0.0.2/32']), null));
    const observed = observe(desired);
    const dup = { ...observed.filters[3]!, handle: 999 };
    const { plan } = diff(desired, { ...observed, filters: [...observed.filters, dup] });
    assert.deepEqual(plan.ops, [{ op: 'delete', filter: dup }]);
  });

  test('an observed filter with keys we cannot express is deleted and the desired one added', () => {
    const desired = program(rs(allow(['10.0.0.2/32']), null));
    const observed = observe(desired);
    const odd = observed.filters.find((f) => f.chain === VERDICT_CHAIN && f.match.srcIp !== undefined)!;
    const filters = observed.filters.map((f) => (f === odd ? { ...f, match: { ...f.match, unrecognised: 'ip_tos=16' } } : f));
    const ops = diff(desired, { ...observed, filters }).plan.ops;
    assert.deepEqual(ops.map((o) => o.op), ['add', 'delete']);
    assert.equal(filterOf(ops[1]!)?.handle, odd.handle);
  });

  test('observed filters without a handle cannot be addressed and are left out of the plan', () => {
    const desired = program(rs(allow(['10.0.0.2/32']), null));
    const observed = observe(desired);
    const { handle: _h, ...noHandle } = observed.filters[0]!;
    const ops = diff(desired, { ...observed, filters: [...observed.filters.slice(1), noHandle] }).plan.ops;
    assert.deepEqual(ops.map(describeOp), [`add ${filterKey(desired[0]!)}`]);
  });
});

describe('removal', () => {
  const old = program(rs(allow(FOUR_PEERS, tcp(80, 443, 8080, 8443, 9090)), allow(['10.1.0.0/16'])));

  test('removing everything with no foreign filters deletes the clsact qdisc only', () => {
    assert.deepEqual(diff([], observe(old)).plan.ops, [{ op: 'delete-qdisc' }]);
  });

  test('bug 15: removing everything next to foreign filters deletes only our filters, by handle, and keeps the qdisc', () => {
    for (const foreign of [{ ingress: 1, egress: 0 }, { ingress: 0, egress: 2 }]) {
      const observed = observe(old, 'clsact', foreign);
      const ops = diff([], observed).plan.ops;
      assert.ok(ops.every((o) => o.op === 'delete'));
      assert.deepEqual(ops.map((o) => filterOf(o)!.handle).sort((a, b) => a! - b!), observed.filters.map((f) => f.handle).sort((a, b) => a! - b!));
    }
  });

  test('teardown order: entry chain first, its catch-all dispatch before the ARP/ND passes; then verdict; then port chains', () => {
    const ops = diff([], observe(old, 'clsact', { ingress: 1, egress: 1 })).plan.ops.map((o) => filterOf(o)!);
    assert.ok(ops.some((f) => f.chain === PORT_CHAIN_FIRST), 'the case has a port chain');
    const rank = (c: number) => (c === 0 ? 0 : c === VERDICT_CHAIN ? 1 : 2);
    for (let i = 1; i < ops.length; i++) assert.ok(rank(ops[i - 1]!.chain) <= rank(ops[i]!.chain));
    for (const hook of ['ingress', 'egress'] as Hook[]) {
      const entry = ops.filter((f) => f.chain === 0 && f.hook === hook);
      const dispatch = entry.findIndex(isCatchAll);
      const neighbour = entry.map((f, i) => (f.actions.length === 1 && f.actions[0]!.kind === 'pass' ? i : -1)).filter((i) => i >= 0);
      assert.ok(neighbour.length > 0);
      assert.ok(dispatch >= 0 && neighbour.every((i) => dispatch < i), `${hook}: the dispatch is deleted before ARP/ND`);
      for (let i = 1; i < entry.length; i++) assert.ok(entry[i - 1]!.pref >= entry[i]!.pref, `${hook}: entry prefs from the back`);
    }
  });

  test('nothing of ours and nothing desired: empty plan, whatever the qdisc', () => {
    assert.deepEqual(diff([], none).plan.ops, []);
    assert.deepEqual(diff([], { qdisc: 'clsact', filters: [], foreign: { ingress: 0, egress: 0 } }).plan.ops, []);
    assert.deepEqual(diff([], { qdisc: 'ingress', filters: [], foreign: { ingress: 3, egress: 0 } }).plan.ops, []);
  });

  test('a plain ingress qdisc (not ours) is never deleted: our filters on it go one by one', () => {
    const ingressOnly = program(rs(null, allow(['10.1.0.0/16'])));
    const ops = diff([], observe(ingressOnly, 'ingress')).plan.ops;
    assert.ok(ops.length > 0);
    assert.ok(ops.every((o) => o.op === 'delete'));
  });
});

describe('a plain ingress qdisc', () => {
  const desired = program(rs(allow(['10.0.0.2/32']), allow(['10.1.0.0/16'])));

  test('egress-hook filters are unavailable while ingress-hook ones are still planned, and no qdisc is added', () => {
    const { plan, unavailable } = diff(desired, { qdisc: 'ingress', filters: [], foreign: { ingress: 0, egress: 0 } });
    assert.match(unavailable ?? '', /clsact/);
    assert.ok(plan.ops.length > 0);
    assert.ok(plan.ops.every((o) => o.op === 'add' && o.filter.hook === 'ingress'));
    assert.deepEqual(plan.ops.map((o) => filterKey(filterOf(o)!)).sort(), desired.filter((f) => f.hook === 'ingress').map(filterKey).sort());
  });

  test('a program with only egress-hook filters on a plain ingress qdisc: unavailable, nothing planned', () => {
    const egressOnly = program(rs(allow(['10.0.0.2/32']), null), false);
    assert.ok(egressOnly.every((f) => f.hook === 'egress'));
    const r = diff(egressOnly, { qdisc: 'ingress', filters: [], foreign: { ingress: 2, egress: 0 } });
    assert.deepEqual(r.plan.ops, []);
    assert.notEqual(r.unavailable, undefined);
  });
});

describe('properties over random transitions', () => {
  const transition = fc.tuple(ruleSet, ruleSet, compileOptions, fc.record({ ingress: fc.nat(1), egress: fc.nat(1) }));

  test('applying the plan yields exactly the desired program, and foreign/unowned filters never appear in a plan', () => {
    fc.assert(
      fc.property(transition, ([a, b, o, foreign]) => {
        const old = compile(a, o).filters;
        const desired = compile(b, o).filters;
        const observed = old.length > 0 || foreign.ingress + foreign.egress > 0 ? observe(old, 'clsact', foreign) : none;
        const { plan } = diff(desired, observed);
        for (const op of plan.ops) {
          const f = filterOf(op);
          if (f) assert.ok(isOwned(f.hook, f.chain, f.pref), describeOp(op));
        }
        const after = applyPlan(stateOf(observed), plan);
        // port chains may keep installed numbers (renumberPortChains): compare after that renaming
        const expected = renumberPortChains(desired, observed.filters);
        assert.deepEqual(after.filters.map(filterKey).sort(), expected.map(filterKey).sort());
        if (desired.length > 0) assert.equal(after.qdisc, 'clsact');
        assert.deepEqual(diff(desired, observedOf(after)).plan.ops, [], 'a second diff is empty');
      }),
    );
  });

  const frames = (hook: Hook): Frame[] => {
    const out: Frame[] = [{ encapsulation: 'untagged', ethertype: 'arp' }, { encapsulation: '802.1Q', ethertype: 'arp' }];
    const peers = ['10.0.0.2', '10.0.0.77', '10.0.1.5', 'fd00::2', '2001:db8::1'];
    for (const encapsulation of ['untagged', '802.1Q', '802.1ad'] as const) {
      for (const peer of peers) {
        const v6 = peer.includes(':');
        const pod = v6 ? 'fd09::9' : '10.9.9.9';
        for (const [l4, port] of [['tcp', 3], ['udp', 7], ['sctp', 30]] as const) {
          out.push({ encapsulation, ethertype: v6 ? 'ipv6' : 'ip', src: hook === 'ingress' ? pod : peer, dst: hook === 'ingress' ? peer : pod, l4, srcPort: 40000, dstPort: port, segment: 'opening' });
        }
      }
      out.push({ encapsulation, ethertype: 'ipv6', src: 'fd00::1', dst: 'ff02::1:ff00:2', l4: 'icmpv6', icmpType: 135 });
    }
    return out;
  };
  const FRAMES = { ingress: frames('ingress'), egress: frames('egress') };

  /** Port chains numbered alike in both programs but holding different filters. */
  const rewrittenChains = (old: readonly TcFilter[], desired: readonly TcFilter[]): string[] => {
    const content = (fs: readonly TcFilter[]) => {
      const m = new Map<string, string[]>();
      for (const f of fs) if (f.chain >= PORT_CHAIN_FIRST) m.set(`${f.hook}/${f.chain}`, [...(m.get(`${f.hook}/${f.chain}`) ?? []), filterKey(f)]);
      return new Map([...m].map(([k, v]) => [k, v.sort().join(';')]));
    };
    const before = content(old);
    const after = content(desired);
    return [...before.keys()].filter((k) => after.has(k) && after.get(k) !== before.get(k));
  };

  /** After every op of the plan, every probe frame gets a verdict the old or the new program gives it. */
  const checkTransition = (old: readonly TcFilter[], desired: readonly TcFilter[]): void => {
    const start = old.length > 0 ? observe(old) : none;
    const { plan } = diff(desired, start);
    const hooks = ['ingress', 'egress'] as const;
    const expected = new Map(
      hooks.map((hook) => {
        const before = classifier(old, hook);
        const after = classifier(desired, hook);
        return [hook, FRAMES[hook].map((frame) => new Set([...before(frame), ...after(frame)]))];
      }),
    );
    let s = stateOf(start);
    for (const [i, op] of plan.ops.entries()) {
      s = applyOp(s, op);
      for (const hook of hooks) {
        const now = classifier(s.filters, hook);
        FRAMES[hook].forEach((frame, j) => {
          const allowed = expected.get(hook)![j]!;
          for (const v of now(frame)) {
            assert.ok(allowed.has(v), `after op ${i} (${describeOp(op)}): ${hook} ${JSON.stringify(frame)} gets ${v}, old/new give only ${[...allowed].join('/')}`);
          }
        });
      }
    }
  };

  test('make-before-break: after every op, a new connection gets the old verdict or the new one (when no port chain is renumbered)', () => {
    fc.assert(
      fc.property(transition, ([a, b, o]) => {
        const old = compile(a, o).filters;
        const desired = compile(b, o).filters;
        fc.pre(rewrittenChains(old, desired).length === 0);
        checkTransition(old, desired);
      }),
      { numRuns: 40 },
    );
  });

  test('make-before-break when a port chain number is reused for another port set', () => {
    const p = (ports: number[], protocol: 'TCP' | 'UDP') => ports.map((n) => ({ protocol, start: n, end: n }));
    const untagged = { ...DEFAULT_COMPILE_OPTIONS, stateful: false, encapsulations: ['untagged' as const] };
    const udp = { policy: 'ns1/p', rule: 0, peers: ['10.0.0.2/32', '10.0.0.77/32', '10.0.0.100/32', '10.0.0.120/32', '10.0.0.140/32'], ports: p([3, 5, 9, 11, 13], 'UDP') };
    const tcpGrant = { policy: 'ns1/p', rule: 1, peers: ['10.0.1.0/30', '10.0.1.8/30', '10.0.1.16/30', '10.0.1.24/30', '10.0.1.32/30'], ports: p([3, 5, 9, 11, 13], 'TCP') };
    const old = compile(rs(null, { policies: ['ns1/p'], grants: [udp] }), untagged).filters;
    // the TCP port set sorts first and takes chain 10001; the UDP set moves to 10002
    const desired = compile(rs(null, { policies: ['ns1/p'], grants: [udp, tcpGrant] }), untagged).filters;
    assert.deepEqual(rewrittenChains(old, desired), ['ingress/10001']);
    checkTransition(old, desired);
  });
});
