// fast-check generators for rule sets and compile options, shared by the compile and diff
// property tests. Addresses stay inside a few small prefixes so that grants overlap often.
import fc from 'fast-check';
import { canonicalCidr } from '../../../core/model/cidr.js';
import type { DirectionRules, Grant, PortSpec, RuleSet } from '../../../core/model/rules.js';
import { ALL_ENCAPSULATIONS, DEFAULT_COMPILE_OPTIONS, type CompileOptions, type Encapsulation } from '../../../core/pipeline/compile.js';

const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 })).map(([h, len]) => `10.0.0.${h}/${len}`);
const v4wide = fc.constantFrom('10.0.0.0/16', '10.0.0.0/8', '0.0.0.0/0', '10.0.1.0/24');
const v6 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 120, max: 128 })).map(([h, len]) => `fd00::${h.toString(16)}/${len}`);
const v6wide = fc.constantFrom('::/0', 'fd00::/64');
/** Raw CIDR text with host bits possibly set; canonicalised before use. */
export const cidr = fc.oneof({ weight: 8, arbitrary: v4 }, { weight: 1, arbitrary: v4wide }, { weight: 3, arbitrary: v6 }, { weight: 1, arbitrary: v6wide });

export const portSpec: fc.Arbitrary<PortSpec> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom<PortSpec>({ protocol: 'TCP' }, { protocol: 'UDP' }, { protocol: 'SCTP' }) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 4 }))
      .map(([protocol, start, w]): PortSpec => ({ protocol, start, end: Math.min(65535, start + w) })),
  },
  { weight: 1, arbitrary: fc.constantFrom<PortSpec>({ protocol: 'TCP', start: 1, end: 1 }, { protocol: 'UDP', start: 65535, end: 65535 }, { protocol: 'TCP', start: 1, end: 65535 }) },
);


export const grant: fc.Arbitrary<Grant> = fc
  .record({
    policy: fc.constantFrom('ns1/a', 'ns1/b'),
    rule: fc.nat(3),
    peers: fc.array(cidr, { minLength: 1, maxLength: 4 }),
    ports: fc.oneof({ weight: 1, arbitrary: fc.constant('all' as const) }, { weight: 4, arbitrary: fc.array(portSpec, { minLength: 1, maxLength: 4 }) }),
  })
  .map((g) => ({ ...g, peers: [...new Set(g.peers.map((c) => canonicalCidr(c)!))] }));

export const direction: fc.Arbitrary<DirectionRules | null> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.array(grant, { maxLength: 6 }).map((grants) => ({ policies: ['ns1/a'], grants })) },
);

export const ruleSet: fc.Arbitrary<RuleSet> = fc.record({ ingress: direction, egress: direction }).map(({ ingress, egress }) => ({ endpoint: 'ns1/pod/net1', network: 'ns1/net1', ingress, egress, diagnostics: [] }));

export const encapsulations: fc.Arbitrary<Encapsulation[]> = fc.subarray([...ALL_ENCAPSULATIONS], { minLength: 1 });

export const compileOptions: fc.Arbitrary<CompileOptions> = fc.record({ stateful: fc.boolean(), ctZone: fc.constantFrom(0, 5), encapsulations }).map((o) => ({ ...DEFAULT_COMPILE_OPTIONS, ...o }));
