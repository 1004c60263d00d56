// The numbers of the kernel's netlink/rtnetlink/TC ABI this driver speaks (uapi headers:
// linux/netlink.h, rtnetlink.h, pkt_sched.h, pkt_cls.h, tc_act/tc_gact.h, tc_act/tc_ct.h),
// compared with the values a C program printed from those headers. They are ABI: stable.

export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const MSG_TRUNC = 0x20;

/** nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32. */
export const NLMSG_HDRLEN = 16;
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3 } as const;

export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  DUMP_INTR: 0x10,
  DUMP: 0x300,
  // requests that create
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  // on NLMSG_ERROR
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2 } as const;
export const NLA_F_NESTED = 0x8000;
export const NLA_TYPE_MASK = 0x3fff;

export const RTM = {
  NEWLINK: 16,
  GETLINK: 18,
  NEWQDISC: 36,
  DELQDISC: 37,
  GETQDISC: 38,
  NEWTFILTER: 44,
  DELTFILTER: 45,
  GETTFILTER: 46,
} as const;

/** ifinfomsg is 16 bytes; tcmsg is 20 (family u8, pad u8, pad u16, ifindex i32, handle, parent, info u32). */
export const IFINFOMSG_LEN = 16;
export const TCMSG_LEN = 20;
export const IFLA_IFNAME = 3;

export const TC_H = {
  /** handle of the clsact/ingress qdisc (ffff:) */
  INGRESS_QDISC: 0xffff0000,
  /** parent of the clsact/ingress qdisc (ffff:fff1) */
  CLSACT: 0xfffffff1,
  /** parent of a filter on the ingress hook (ffff:fff2); a plain ingress qdisc takes it too */
  MIN_INGRESS: 0xfffffff2,
  /** parent of a filter on the egress hook (ffff:fff3) */
  MIN_EGRESS: 0xfffffff3,
} as const;

export const TCA = { KIND: 1, OPTIONS: 2, CHAIN: 11, INGRESS_BLOCK: 13 } as const;

/**
 * tcm_ifindex of a request about a shared block's filters; tcm_parent then holds the block
 * index (tcm_block_index, a union with tcm_parent).
 */
export const TCM_IFINDEX_MAGIC_BLOCK = 0xffffffff;

export const TCA_FLOWER = {
  CLASSID: 1,
  INDEV: 2,
  ACT: 3,
  KEY_ETH_DST: 4,
  KEY_ETH_DST_MASK: 5,
  KEY_ETH_SRC: 6,
  KEY_ETH_SRC_MASK: 7,
  KEY_ETH_TYPE: 8,
  KEY_IP_PROTO: 9,
  KEY_IPV4_SRC: 10,
  KEY_IPV4_SRC_MASK: 11,
  KEY_IPV4_DST: 12,
  KEY_IPV4_DST_MASK: 13,
  KEY_IPV6_SRC: 14,
  KEY_IPV6_SRC_MASK: 15,
  KEY_IPV6_DST: 16,
  KEY_IPV6_DST_MASK: 17,
  KEY_TCP_SRC: 18,
  KEY_TCP_DST: 19,
  KEY_UDP_SRC: 20,
  KEY_UDP_DST: 21,
  FLAGS: 22,
  KEY_VLAN_ID: 23,
  KEY_VLAN_PRIO: 24,
  KEY_VLAN_ETH_TYPE: 25,
  KEY_TCP_SRC_MASK: 35,
  KEY_TCP_DST_MASK: 36,
  KEY_UDP_SRC_MASK: 37,
  KEY_UDP_DST_MASK: 38,
  KEY_SCTP_SRC_MASK: 39,
  KEY_SCTP_DST_MASK: 40,
  KEY_SCTP_SRC: 41,
  KEY_SCTP_DST: 42,
  KEY_FLAGS: 47,
  KEY_FLAGS_MASK: 48,
  KEY_ICMPV4_CODE: 49,
  KEY_ICMPV4_CODE_MASK: 50,
  KEY_ICMPV4_TYPE: 51,
  KEY_ICMPV4_TYPE_MASK: 52,
  KEY_ICMPV6_CODE: 53,
  KEY_ICMPV6_CODE_MASK: 54,
  KEY_ICMPV6_TYPE: 55,
  KEY_ICMPV6_TYPE_MASK: 56,
  KEY_IP_TOS: 73,
  KEY_IP_TOS_MASK: 74,
  KEY_IP_TTL: 75,
  KEY_IP_TTL_MASK: 76,
  KEY_CVLAN_ID: 77,
  KEY_CVLAN_PRIO: 78,
  KEY_CVLAN_ETH_TYPE: 79,
  IN_HW_COUNT: 86,
  KEY_PORT_SRC_MIN: 87,
  KEY_PORT_SRC_MAX: 88,
  KEY_PORT_DST_MIN: 89,
  KEY_PORT_DST_MAX: 90,
  KEY_CT_STATE: 91,
  KEY_CT_STATE_MASK: 92,
  KEY_CT_ZONE: 93,
  KEY_CT_ZONE_MASK: 94,
  KEY_CT_MARK: 95,
  KEY_CT_MARK_MASK: 96,
  KEY_CT_LABELS: 97,
  KEY_CT_LABELS_MASK: 98,
} as const;

/** TCA_FLOWER_FLAGS bits (TCA_CLS_FLAGS_*). */
export const CLS_FLAGS = { SKIP_HW: 1, SKIP_SW: 2, IN_HW: 4, NOT_IN_HW: 8, VERBOSE: 16 } as const;

/** TCA_FLOWER_KEY_CT_STATE bits, by the names tc prints. */
export const CT_STATE_BITS = { new: 1, est: 2, rel: 4, trk: 8, inv: 16, rpl: 32 } as const;

/** Matching flags (TCA_FLOWER_KEY_FLAGS), named as tc prints them under ip_flags. */
export const KEY_FLAGS = { frag: 1, firstfrag: 2 } as const;

export const TCA_ACT = { KIND: 1, OPTIONS: 2, INDEX: 3, STATS: 4 } as const;
export const TCA_GACT = { TM: 1, PARMS: 2, PROB: 3, PAD: 4 } as const;
export const TCA_CT = { PARMS: 1, TM: 2, ACTION: 3, ZONE: 4, PAD: 15 } as const;
export const CT_ACT = { COMMIT: 1, FORCE: 2, CLEAR: 4, NAT: 8 } as const;
/** struct tc_gact / tc_ct: index, capab, action, refcnt, bindcnt (5 x 32 bit). */
export const TC_GEN_LEN = 20;

export const TC_ACT = {
  OK: 0,
  SHOT: 2,
  PIPE: 3,
  /** goto chain N: GOTO_CHAIN | N */
  GOTO_CHAIN: 0x20000000,
  EXT_OPCODE_MASK: 0xf0000000,
  EXT_VAL_MASK: 0x0fffffff,
} as const;

/** Ethertypes by the protocol names tc and the canonical model use. */
export const ETH_P = {
  all: 0x0003,
  ip: 0x0800,
  arp: 0x0806,
  ipv6: 0x86dd,
  '802.1Q': 0x8100,
  '802.1ad': 0x88a8,
} as const;

export const IPPROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;
