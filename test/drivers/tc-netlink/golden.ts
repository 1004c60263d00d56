// The lab captures in test/golden/netlink/ (test/drivers/tc-netlink/fixtures/capture-vectors.ts).
import { readFileSync } from 'node:fs';
import type { PlanOp } from '../../../core/model/plan.js';
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
