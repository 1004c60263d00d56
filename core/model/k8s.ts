// Plain-data views of the four Kubernetes kinds the engine reads, trimmed to the fields it
// uses. Objects enter through core/model/validate.ts, so code past that point may rely on
// these shapes.

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: L4Protocol;
}

export interface Pod {
  readonly kind?: 'Pod';
  readonly metadata: ObjectMeta & { readonly namespace: string };
  readonly spec: {
    readonly nodeName?: string;
    readonly hostNetwork?: boolean;
    readonly containers?: readonly { readonly name: string; readonly ports?: readonly ContainerPort[] }[];
  };
  readonly status?: { readonly phase?: string };
}

export interface Namespace {
  readonly kind?: 'Namespace';
  readonly metadata: ObjectMeta;
}

export interface NetworkAttachmentDefinition {
  readonly kind?: 'NetworkAttachmentDefinition';
  readonly metadata: ObjectMeta & { readonly namespace: string };
  readonly spec?: { readonly config?: string };
}

export type IntOrString = number | string;

export interface PolicyPort {
  readonly protocol?: L4Protocol;
  readonly port?: IntOrString;
  readonly endPort?: number;
}

export interface IPBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}

export interface PolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IPBlock;
}

export interface IngressRule {
  readonly ports?: readonly PolicyPort[];
  readonly from?: readonly PolicyPeer[];
}

export interface EgressRule {
  readonly ports?: readonly PolicyPort[];
  readonly to?: readonly PolicyPeer[];
}

export type PolicyType = 'Ingress' | 'Egress';

export interface MultiNetworkPolicy {
  readonly apiVersion?: 'k8s.cni.cncf.io/v1beta1';
  readonly kind?: 'MultiNetworkPolicy';
  readonly metadata: ObjectMeta & { readonly namespace: string };
  readonly spec: {
    readonly podSelector: LabelSelector;
    readonly policyTypes?: readonly PolicyType[];
    readonly ingress?: readonly IngressRule[];
    readonly egress?: readonly EgressRule[];
  };
}

export const POLICY_FOR_ANNOTATION = 'k8s.v1.cni.cncf.io/policy-for';
export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';
export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** `namespace/name`, the key every cache and index uses. */
export const keyOf = (m: { readonly metadata: ObjectMeta }): string =>
  m.metadata.namespace ? `${m.metadata.namespace}/${m.metadata.name}` : m.metadata.name;
