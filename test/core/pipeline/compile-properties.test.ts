// compile invariants over random rule sets (fast-check), and one semantic property: the
// compiled hook, run through the TC model (core/tcmodel), decides the first packet of a new
// connection exactly as the grants say.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { overlaps, parseCidr } from '../../../core/model/cidr.js';
import type { L4Protocol } from '../../../core/model/k8s.js';
import type { RuleSet } from '../../../core/model/rules.js';
import { actionsKey, filterIdentity, type FlowerMatch, type Hook, type TcFilter } from '../../../core/model/tc.js';
import { compile, HOOK_OF } from '../../../core/pipeline/compile.js';
import { ENTRY_PREF, ENTRY_PREF_FIRST, ENTRY_PREF_LAST, isOwned, OWNED_CHAIN_LAST, VERDICT_CHAIN } from '../../../core/pipeline/layout.js';
import { runHook } from '../../../core/tcmodel/classify.js';
import { newConntrackTable, skbOf } from '../../../core/tcmodel/conntrack.js';
import type { Encapsulation, Frame, IpFrame } from '../../../core/tcmodel/packet.js';
import { compileOptions, ruleSet } from './arbitraries.js';
import { grantAllows } from './rules-helpers.js';

const input = fc.tuple(ruleSet, compileOptions);
const place = (f: TcFilter): string => `${f.hook}/${f.chain}/${f.pref}`;

function byPlace(fs: readonly TcFilter[]): Map<string, TcFilter[]> {
  const m = new Map<string, TcFilter[]>();
  for (const f of fs) m.set(place(f), [...(m.get(place(f)) ?? []), f]);
  return m;
}

/** Could one frame match both? Conservative: only provably disjoint keys say no. */
function mayOverlap(a: FlowerMatch, b: FlowerMatch): boolean {
  if (a.vlanEthType !== undefined && b.vlanEthType !== undefined && a.vlanEthType !== b.vlanEthType) return false;
  if (a.cvlanEthType !== undefined && b.cvlanEthType !== undefined && a.cvlanEthType !== b.cvlanEthType) return false;
  // +trk+new, +trk+est, +trk+rel are mutually exclusive
  if (a.ctState !== undefined && b.ctState !== undefined && a.ctState !== b.ctState) return false;
  if (a.ipProto !== undefined && b.ipProto !== undefined && a.ipProto !== b.ipProto) return false;
  for (const k of ['srcIp', 'dstIp'] as const) {
    const x = a[k] && parseCidr(a[k]);
    const y = b[k] && parseCidr(b[k]);
    if (x && y && !overlaps(x, y)) return false;
  }
  if (a.dstPort && b.dstPort && (a.dstPort.end < b.dstPort.start || b.dstPort.end < a.dstPort.start)) return false;
  if (a.icmpType !== undefined && b.icmpType !== undefined && a.icmpType !== b.icmpType) return false;
  return true;
}

const isCatchAllDrop = (f: TcFilter): boolean => f.protocol === 'all' && Object.keys(f.match).length === 0 && actionsKey(f.actions) === 'drop';

const isCatchAll = (f: TcFilter): boolean => f.protocol === 'all' && Object.keys(f.match).length === 0;

test('no frame falls off an owned chain: verdict and port chains end in a catch-all drop, chain 0 of an isolated hook in a catch-all dispatch or drop', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      const { filters } = compile(rs, opts);
      const chains = new Set(filters.map((f) => `${f.hook}/${f.chain}`));
      for (const key of chains) {
        const [hook, chainText] = key.split('/') as [Hook, string];
        const chain = Number(chainText);
        const inChain = filters.filter((f) => f.hook === hook && f.chain === chain);
        const last = Math.max(...inChain.map((f) => f.pref));
        const lastFilters = inChain.filter((f) => f.pref === last);
        const isolated = (hook === HOOK_OF.egress ? rs.egress : rs.ingress) !== null;
        if (chain === 0 && !isolated) {
          assert.ok(inChain.every((f) => !isCatchAll(f)), `${key}: an open hook catches nothing`);
          assert.ok(inChain.every((f) => f.actions.at(-1)?.kind === 'pass'), `${key}: an open hook only passes`);
          continue;
        }
        assert.equal(lastFilters.length, 1, `${key}: the last pref holds one filter`);
        const f = lastFilters[0]!;
        assert.ok(isCatchAll(f), `${key}: the last filter catches every frame`);
        if (chain === 0) assert.ok(['drop', `goto:${VERDICT_CHAIN}`].includes(actionsKey(f.actions).split('|').at(-1)!), `${key}: it dispatches or drops`);
        else assert.ok(isCatchAllDrop(f), `${key}: the last filter is a catch-all drop`);
      }
    }),
  );
});

test('no two filters share an identity (one (hook, chain, pref, protocol, match) each)', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      const ids = compile(rs, opts).filters.map(filterIdentity);
      assert.equal(new Set(ids).size, ids.length);
    }),
  );
});

test('within one (hook, chain, pref) all filters have one protocol', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      for (const [p, fs] of byPlace(compile(rs, opts).filters)) assert.equal(new Set(fs.map((f) => f.protocol)).size, 1, p);
    }),
  );
});

test('filters of one pref that could match the same frame have identical actions (address keys disjoint)', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      for (const [p, fs] of byPlace(compile(rs, opts).filters)) {
        for (let i = 0; i < fs.length; i++) {
          for (let j = i + 1; j < fs.length; j++) {
            const a = fs[i]!;
            const b = fs[j]!;
            if (mayOverlap(a.match, b.match)) assert.equal(actionsKey(a.actions), actionsKey(b.actions), `${p}: ${filterIdentity(a)} vs ${filterIdentity(b)}`);
          }
        }
      }
    }),
  );
});

test('address keys within one pref are pairwise disjoint when the other keys are equal', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      for (const [p, fs] of byPlace(compile(rs, opts).filters)) {
        const withAddr = fs.filter((f) => f.match.dstIp ?? f.match.srcIp);
        for (let i = 0; i < withAddr.length; i++) {
          for (let j = i + 1; j < withAddr.length; j++) {
            const a = withAddr[i]!;
            const b = withAddr[j]!;
            const rest = (m: FlowerMatch) => JSON.stringify({ ...m, dstIp: undefined, srcIp: undefined, ipProto: undefined, dstPort: undefined });
            if (rest(a.match) !== rest(b.match)) continue;
            const x = parseCidr((a.match.dstIp ?? a.match.srcIp)!)!;
            const y = parseCidr((b.match.dstIp ?? b.match.srcIp)!)!;
            if (a.match.dstIp === b.match.dstIp && a.match.srcIp === b.match.srcIp) continue; // one atom, several port matches
            assert.equal(overlaps(x, y), false, `${p}: ${filterIdentity(a)} overlaps ${filterIdentity(b)}`);
          }
        }
      }
    }),
  );
});

test('every goto target chain has filters, and every filter is inside the owned range', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      const { filters } = compile(rs, opts);
      const chains = new Set(filters.map((f) => `${f.hook}/${f.chain}`));
      for (const f of filters) {
        assert.ok(isOwned(f.hook, f.chain, f.pref), `${filterIdentity(f)} is not owned`);
        for (const a of f.actions) if (a.kind === 'goto') assert.ok(chains.has(`${f.hook}/${a.chain}`), `${filterIdentity(f)} jumps to an empty chain`);
      }
    }),
  );
});

test('gotos only go forward (entry -> verdict -> port chain), so there are no loops', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      for (const f of compile(rs, opts).filters) for (const a of f.actions) if (a.kind === 'goto') assert.ok(a.chain > f.chain && a.chain >= VERDICT_CHAIN);
    }),
  );
});

test('stateless output has no ct action and no ct_state key; stateful output has ct only with the configured zone', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      for (const f of compile(rs, opts).filters) {
        const ct = f.actions.filter((a) => a.kind === 'ct');
        if (!opts.stateful) {
          assert.equal(ct.length, 0);
          assert.equal(f.match.ctState, undefined);
        } else for (const a of ct) assert.equal(a.kind === 'ct' && a.zone, opts.ctZone);
      }
    }),
  );
});

test('only the configured encapsulations appear', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      const allowed = new Set<string>(['all']);
      if (opts.encapsulations.includes('untagged')) for (const p of ['ip', 'ipv6', 'arp']) allowed.add(p);
      if (opts.encapsulations.includes('802.1Q')) allowed.add('802.1Q');
      if (opts.encapsulations.includes('802.1ad')) allowed.add('802.1ad');
      for (const f of compile(rs, opts).filters) assert.ok(allowed.has(f.protocol), `${f.protocol} with ${opts.encapsulations.join(',')}`);
    }),
  );
});

test('deterministic: the same input twice gives the same array, and grant order does not matter', () => {
  fc.assert(
    fc.property(input, fc.infiniteStream(fc.nat()), ([rs, opts], seeds) => {
      const once = compile(rs, opts);
      assert.deepEqual(compile(structuredClone(rs), opts), once);
      const shuffle = <T>(xs: readonly T[]): T[] => [...xs].map((x) => ({ x, k: seeds.next().value as number })).sort((a, b) => a.k - b.k).map((p) => p.x);
      const shuffled: RuleSet = {
        ...rs,
        ingress: rs.ingress && { ...rs.ingress, grants: shuffle(rs.ingress.grants).map((g) => ({ ...g, peers: shuffle(g.peers), ports: g.ports === 'all' ? 'all' : shuffle(g.ports) })) },
        egress: rs.egress && { ...rs.egress, grants: shuffle(rs.egress.grants).map((g) => ({ ...g, peers: shuffle(g.peers), ports: g.ports === 'all' ? 'all' : shuffle(g.ports) })) },
      };
      assert.deepEqual(compile(shuffled, opts), once);
    }),
  );
});

// --- semantics through the TC model ---------------------------------------------------------

const POD4 = '10.9.9.9';
const POD6 = 'fd09::9';
const peer4 = fc.oneof(fc.integer({ min: 0, max: 255 }).map((h) => `10.0.0.${h}`), fc.constantFrom('10.0.1.5', '10.200.0.1', '192.168.0.1'));
const peer6 = fc.oneof(fc.integer({ min: 0, max: 255 }).map((h) => `fd00::${h.toString(16)}`), fc.constantFrom('fd00::1:0:0:1', '2001:db8::1'));
const l4 = fc.oneof(
  fc.record({ l4: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const), port: fc.oneof(fc.integer({ min: 1, max: 46 }), fc.constant(65535)) }),
  fc.constant({ l4: 'icmp' as const, port: 0 }),
);
const probe = fc.record({ v6: fc.boolean(), peer4, peer6, l4, dir: fc.constantFrom('ingress' as const, 'egress' as const), encap: fc.nat(2) });

const PROTO: Record<string, L4Protocol> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

test('semantics: the compiled hook decides the first packet of a new connection exactly as the grants do', () => {
  fc.assert(
    fc.property(input, fc.array(probe, { minLength: 1, maxLength: 12 }), ([rs, opts], probes) => {
      const { filters } = compile(rs, opts);
      for (const p of probes) {
        const encapsulation: Encapsulation = opts.encapsulations[p.encap % opts.encapsulations.length]!;
        const peer = p.v6 ? p.peer6 : p.peer4;
        const pod = p.v6 ? POD6 : POD4;
        const icmp = p.l4.l4 === 'icmp';
        const l4 = icmp ? (p.v6 ? 'icmpv6' : 'icmp') : p.l4.l4;
        const frame: IpFrame = {
          encapsulation,
          ethertype: p.v6 ? 'ipv6' : 'ip',
          src: p.dir === 'egress' ? pod : peer,
          dst: p.dir === 'egress' ? peer : pod,
          l4,
          ...(icmp ? { icmpType: p.v6 ? 128 : 8 } : { srcPort: 40000, dstPort: p.l4.port, segment: 'opening' as const }),
        };
        const rules = rs[p.dir];
        const want =
          rules === null || rules.grants.some((g) => (icmp ? g.ports === 'all' && grantAllows(g, peer, 'TCP', 1) : grantAllows(g, peer, PROTO[p.l4.l4]!, p.l4.port)));
        const run = runHook(filters, HOOK_OF[p.dir], skbOf(frame), newConntrackTable());
        assert.ok(run.ok, JSON.stringify(run));
        assert.equal(run.value.verdict === 'pass', want, `${p.dir} ${encapsulation} ${l4} ${frame.src} -> ${frame.dst}:${frame.dstPort ?? ''}`);
      }
    }),
    { numRuns: 200 },
  );
});

test('semantics: ARP and neighbour discovery pass every hook, tagged or not', () => {
  fc.assert(
    fc.property(input, ([rs, opts]) => {
      const { filters } = compile(rs, opts);
      for (const encapsulation of opts.encapsulations) {
        for (const hook of ['ingress', 'egress'] as const) {
          const arp: Frame = { encapsulation, ethertype: 'arp' };
          const ns: Frame = { encapsulation, ethertype: 'ipv6', src: 'fd00::1', dst: 'ff02::1:ff00:2', l4: 'icmpv6', icmpType: 135 };
          const na: Frame = { encapsulation, ethertype: 'ipv6', src: 'fd00::2', dst: 'fd00::1', l4: 'icmpv6', icmpType: 136 };
          for (const f of [arp, ns, na]) {
            const run = runHook(filters, hook, skbOf(f), newConntrackTable());
            assert.ok(run.ok);
            assert.equal(run.value.verdict, 'pass', `${hook} ${encapsulation} ${f.ethertype}`);
          }
        }
      }
    }),
  );
});

test('layout: every entry pref is inside the owned range, ARP prefs first, and isOwned agrees', () => {
  const values: number[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'number') values.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  collect(ENTRY_PREF);
  assert.ok(values.every((p) => p >= ENTRY_PREF_FIRST && p <= ENTRY_PREF_LAST && isOwned('ingress', 0, p)));
  assert.ok(Math.min(...values) === ENTRY_PREF.neighbour.arp);
  assert.equal(isOwned('egress', 0, ENTRY_PREF_FIRST - 1), false);
  assert.equal(isOwned('egress', 0, ENTRY_PREF_LAST + 1), false);
  assert.equal(isOwned('egress', VERDICT_CHAIN - 1, 1), false);
  assert.equal(isOwned('egress', OWNED_CHAIN_LAST + 1, 1), false);
  assert.equal(isOwned('egress', OWNED_CHAIN_LAST, 65535), true);
});


