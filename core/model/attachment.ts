// A pod's secondary interface as the engine sees it, and the netdev that enforces it.

/** One entry of the `k8s.v1.cni.cncf.io/network-status` annotation (Multus). */
export interface NetworkStatusEntry {
  readonly name: string;
  readonly interface?: string;
  readonly ips?: readonly string[];
  readonly mac?: string;
  readonly default?: boolean;
  readonly 'device-info'?: DeviceInfo;
}

export interface DeviceInfo {
  readonly type: string;
  readonly version?: string;
  readonly pci?: {
    readonly 'pci-address'?: string;
    readonly 'representor-device'?: string;
    readonly 'pf-pci-address'?: string;
  };
}

/** A NetworkAttachmentDefinition reduced to what adapters decide on. */
export interface NetworkAttachment {
  /** `namespace/name` */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** CNI `type` of the config (first plugin of a conflist). '' when the config is unreadable. */
  readonly cniType: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** A pod interface an adapter accepted for enforcement. */
export interface Attachment {
  readonly adapter: string;
  /** `namespace/name` of the network. */
  readonly network: string;
  readonly interface: string;
  readonly ips: readonly string[];
  readonly mac?: string;
  readonly deviceInfo?: DeviceInfo;
  /** Interfaces that carry this attachment's frames (bond links); enforcement happens on theirs. */
  readonly members?: readonly Attachment[];
}

export interface Netdev {
  /** The netdev name; for a shared block, `block:<index>` (never a valid netdev name). */
  readonly name: string;
  /** Set when the target is a shared ingress block rather than one netdev's hooks. */
  readonly block?: SharedBlock;
}

/** A shared TC block bound as the ingress block of every port of one eswitch. */
export interface SharedBlock {
  readonly index: number;
  /** Netdevs whose clsact qdisc should use this block as `ingress_block`. */
  readonly ports: readonly string[];
}

/**
 * The eswitch a representor belongs to: every port sharing its `phys_switch_id`, and the
 * uplink among them (where traffic from other nodes and the outside enters).
 */
export interface Eswitch {
  /** `phys_switch_id` (or the configured stand-in for NICs and labs without one). */
  readonly id: string;
  readonly uplink: string;
  /** Every port of the switch, uplink and VF representors, sorted. */
  readonly ports: readonly string[];
}

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** One local pod attachment that policies may apply to. */
export interface Endpoint {
  /** `namespace/pod/interface`, unique per node. */
  readonly key: string;
  readonly pod: PodRef;
  readonly attachment: Attachment;
}
