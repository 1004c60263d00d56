// The conformance case format (../shared/conformance/FORMAT.md): the loaded case the engine and
// the harnesses use, and the shape of the file (a JSON schema plus the raw types it admits).
import type { ContainerPort, L4Protocol, MultiNetworkPolicy, Namespace, NetworkAttachmentDefinition, Pod } from '../model/k8s.js';
import type { External, Family, Probe, Verdict } from '../model/probe.js';
import type { Cluster } from '../model/snapshot.js';

// ---------------------------------------------------------------------------------------
// The loaded case: real-looking Kubernetes objects, defaults applied.

export type CaseProbe = Probe & { readonly expect: Verdict; readonly note?: string };

/** Objects a step creates or replaces (by kind and `namespace/name`). */
export interface CaseApply extends Omit<Cluster, 'invalidPolicies'> {
  readonly externals: readonly External[];
}

export type DeletableKind = 'Pod' | 'Namespace' | 'NetworkAttachmentDefinition' | 'MultiNetworkPolicy';

/** Deleting a Namespace deletes everything in it. */
export interface CaseDelete {
  readonly kind: DeletableKind;
  readonly namespace?: string;
  readonly name: string;
}

export interface CaseStep {
  readonly description: string;
  readonly apply: CaseApply;
  readonly delete: readonly CaseDelete[];
  readonly probes: readonly CaseProbe[];
}

/** Subnet prefix lengths of a network (FORMAT.md: /24 and /64 unless the network gives `prefix`). */
export interface NetworkPrefix {
  readonly ipv4: number;
  readonly ipv6: number;
}

export interface ConformanceCase {
  readonly name: string;
  readonly description: string;
  readonly node: string;
  readonly cluster: Cluster;
  readonly externals: readonly External[];
  readonly probes: readonly CaseProbe[];
  readonly steps: readonly CaseStep[];
  /** By network `namespace/name`, for every network the case declares (also in steps). */
  readonly prefixes: Readonly<Record<string, NetworkPrefix>>;
}

/** What a representor netdev name of a case stands for. */
export interface CaseRepresentor {
  /** `namespace/name` */
  readonly pod: string;
  readonly interface: string;
  /** `namespace/name` */
  readonly network: string;
}

// ---------------------------------------------------------------------------------------
// The file as written (after the schema below accepted it).

export interface RawNamespace {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RawNetwork {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  readonly prefix?: number | { readonly ipv4?: number; readonly ipv6?: number };
}

export interface RawInterface {
  readonly network: string;
  readonly name?: string;
  readonly ips: readonly string[];
}

export interface RawPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly node?: string;
  readonly hostNetwork?: boolean;
  readonly phase?: string;
  readonly containerPorts?: readonly ContainerPort[];
  readonly interfaces?: readonly RawInterface[];
}

export interface RawProbe {
  readonly from: string;
  readonly to: string;
  readonly network: string;
  readonly family?: Family;
  readonly protocol?: L4Protocol;
  readonly port: number;
  readonly expect: Verdict;
  readonly note?: string;
}

export interface RawApply {
  readonly namespaces?: readonly RawNamespace[];
  readonly networks?: readonly RawNetwork[];
  readonly pods?: readonly RawPod[];
  readonly policies?: readonly unknown[];
  readonly externals?: readonly External[];
}

export interface RawStep {
  readonly description: string;
  readonly apply?: RawApply;
  readonly delete?: readonly CaseDelete[];
  readonly probes?: readonly RawProbe[];
}

export interface RawCase extends RawApply {
  readonly name: string;
  readonly description: string;
  readonly origin?: string;
  readonly node: string;
  readonly probes: readonly RawProbe[];
  readonly steps?: readonly RawStep[];
}

const nonEmpty = { type: 'string', minLength: 1 } as const;
const dnsLabel = {
  type: 'string',
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  'x-problem': 'must be a lowercase DNS label (letters, digits, "-")',
} as const;
const ref = { type: 'string', pattern: '^[^/\\s]+/[^/\\s]+$', 'x-problem': 'must be "namespace/name"' } as const;
const ip = { type: 'string', format: 'ip' } as const;
const labels = {
  type: 'object',
  propertyNames: { type: 'string', format: 'label-key' },
  additionalProperties: { type: 'string', format: 'label-value' },
} as const;
const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const protocol = { type: 'string', enum: ['TCP', 'UDP', 'SCTP'] } as const;
const closed = <P extends Record<string, unknown>>(properties: P, required: readonly (keyof P & string)[] = []) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;

const namespaceEntry = closed({ name: dnsLabel, labels }, ['name']);
const networkEntry = closed(
  {
    namespace: dnsLabel,
    name: nonEmpty,
    type: nonEmpty,
    prefix: {
      if: { type: 'integer' },
      then: { type: 'integer', minimum: 1, maximum: 128 },
      else: closed({ ipv4: { type: 'integer', minimum: 1, maximum: 32 }, ipv6: { type: 'integer', minimum: 1, maximum: 128 } }),
    },
  },
  ['namespace', 'name', 'type'],
);
const podEntry = closed(
  {
    namespace: dnsLabel,
    name: nonEmpty,
    labels,
    node: nonEmpty,
    hostNetwork: { type: 'boolean' },
    phase: { type: 'string', enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] },
    containerPorts: {
      type: 'array',
      items: closed({ name: { type: 'string', format: 'iana-svc-name' }, containerPort: port, protocol }, ['containerPort']),
    },
    interfaces: {
      type: 'array',
      items: closed(
        {
          network: ref,
          name: { type: 'string', pattern: '^[A-Za-z0-9][-A-Za-z0-9_.]{0,14}$', 'x-problem': 'must be an interface name (1-15 characters)' },
          ips: { type: 'array', items: ip },
        },
        ['network', 'ips'],
      ),
    },
  },
  ['namespace', 'name'],
);
const externalEntry = closed(
  { name: { type: 'string', pattern: '^[^/\\s]+$', 'x-problem': 'must be a name without "/"' }, network: ref, ips: { type: 'array', minItems: 1, items: ip } },
  ['name', 'network', 'ips'],
);
const probeEntry = closed(
  {
    from: nonEmpty,
    to: nonEmpty,
    network: ref,
    family: { type: 'string', enum: ['ipv4', 'ipv6'] },
    protocol,
    port,
    expect: { type: 'string', enum: ['allow', 'deny'] },
    note: { type: 'string' },
  },
  ['from', 'to', 'network', 'port', 'expect'],
);
// Policies are full objects: their own validation (core/model/validate.ts) checks them.
const applyProperties = {
  namespaces: { type: 'array', items: namespaceEntry },
  networks: { type: 'array', items: networkEntry },
  pods: { type: 'array', items: podEntry },
  policies: { type: 'array', items: { type: 'object' } },
  externals: { type: 'array', items: externalEntry },
} as const;

export const caseSchema = closed(
  {
    name: { type: 'string', pattern: '^[a-z0-9]+(-[a-z0-9]+)*$', 'x-problem': 'must be lowercase words joined by "-"' },
    description: nonEmpty,
    origin: { type: 'string' },
    node: nonEmpty,
    ...applyProperties,
    probes: { type: 'array', items: probeEntry },
    steps: {
      type: 'array',
      items: closed(
        {
          description: nonEmpty,
          apply: closed(applyProperties),
          delete: {
            type: 'array',
            items: closed(
              {
                kind: { type: 'string', enum: ['Pod', 'Namespace', 'NetworkAttachmentDefinition', 'MultiNetworkPolicy'] },
                namespace: nonEmpty,
                name: nonEmpty,
              },
              ['kind', 'name'],
            ),
          },
          probes: { type: 'array', items: probeEntry },
        },
        ['description'],
      ),
    },
  },
  ['name', 'description', 'node', 'probes'],
);
