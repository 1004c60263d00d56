// The lab captures in test/golden/netlink/ (test/drivers/tc-netlink/fixtures/capture-vectors.ts,
// capture-block-vectors.ts).
import { readFileSync } from 'node:fs';
import type { PlanOp } from '../../../core/model/plan.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { NLMSG } from '../../../drivers/tc-netlink/constants.js';
import { splitMessages, type NlMsg } from '../../../drivers/tc-netlink/message.js';

const read = <T>(file: string): T => JSON.parse(readFileSync(new URL(`../../golden/netlink/${file}`, import.meta.url), 'utf8')) as T;

export interface RequestVector {
  readonly group: string;
  /** The `tc -batch` line tc ran. */
  readonly line: string;
  readonly op: PlanOp;
  readonly exitCode: number;
  readonly ifindex: number;
  /** The netlink message tc sent (hex). */
  readonly request: string;
}

export interface DumpVector {
  readonly name: string;
  readonly description: string;
  readonly ifindex: number;
  readonly portId: number;
  /** `tc -j qdisc show dev X`, `filter show dev X ingress|egress` of the same state. */
  readonly tcJson: { readonly qdisc: unknown; readonly ingress: unknown; readonly egress: unknown };
  /** The kernel's reply datagrams (hex) to our qdisc dump and filter dumps. */
  readonly qdisc: readonly string[];
  readonly ingress: readonly string[];
  readonly egress: readonly string[];
}

export interface ReplyVector {
  readonly name: string;
  readonly description: string;
  readonly portId: number;
  /** The device the requests were about. */
  readonly ifindex: number;
  readonly request: string;
  readonly datagrams: readonly string[];
}

export const requests = (): RequestVector[] => read('requests.json');
export const dumps = (): DumpVector[] => read('dumps.json');
export const replies = (): ReplyVector[] => read('replies.json');

export const dump = (name: string): DumpVector => {
  const d = dumps().find((x) => x.name === name);
  if (!d) throw new Error(`no dump ${name}`);
  return d;
};
export const reply = (name: string): ReplyVector => {
  const r = replies().find((x) => x.name === name);
  if (!r) throw new Error(`no reply ${name}`);
  return r;
};

export const hexBuffers = (hex: readonly string[]): Buffer[] => hex.map((h) => Buffer.from(h, 'hex'));

/** The data messages of a dump (NLMSG_DONE dropped). */
export const dataMessages = (hex: readonly string[]): NlMsg[] => hexBuffers(hex).flatMap(splitMessages).filter((m) => m.type !== NLMSG.DONE);

// ---- shared blocks (test/drivers/tc-netlink/fixtures/capture-block-vectors.ts)

export interface BlockRequestVector {
  readonly group: string;
  readonly block: { readonly index: number; readonly ports: readonly string[] };
  /** The lines the cmdline driver writes for the op; tc ran each. */
  readonly lines: readonly string[];
  readonly op: PlanOp;
  readonly exitCode: number;
  /** The bind's port (0 for filter ops). */
  readonly ifindex: number;
  /** The netlink message tc sent for each line (hex). */
  readonly requests: readonly string[];
}

/** A port; its own hooks only when it is not bound to the block (a bound port's list the block). */
export interface BlockPortDump {
  readonly name: string;
  readonly ifindex: number;
  readonly tcJson: { readonly qdisc: unknown; readonly ingress?: unknown; readonly egress?: unknown };
  readonly ingress?: readonly string[];
  readonly egress?: readonly string[];
}

export interface BlockGolden {
  readonly requests: readonly BlockRequestVector[];
  /** `tc filter show block N`: every message tc sent (a qdisc dump, then the filter dump). */
  readonly show: { readonly line: string; readonly exitCode: number; readonly sent: readonly string[] };
  readonly dumps: {
    readonly description: string;
    readonly block: number;
    readonly portId: number;
    /** The program's filters still in the block. */
    readonly installed: readonly TcFilter[];
    /** `tc -j filter show block N chain 10000 pref 7` while its indev device still existed. */
    readonly goneBefore: unknown;
    readonly qdisc: readonly string[];
    readonly filters: readonly string[];
    readonly filtersJson: unknown;
    readonly ports: readonly BlockPortDump[];
  };
  readonly replies: readonly { readonly name: string; readonly description: string; readonly request: string; readonly datagrams: readonly string[] }[];
}

export const blockGolden = (): BlockGolden => read('block.json');
