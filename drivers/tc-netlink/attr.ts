// The netlink attribute codec: a writer that lays out messages and (nested) attributes in
// one growing buffer, and readers that split a buffer into attributes with every length
// checked (readAttrs/attrMap for small messages, AttrIndex in place for dumps). Pure; no
// knowledge of TC. Layout (linux/netlink.h):
//
//   nlattr:  len u16 (header + payload, unpadded) | type u16 (bit 15: nested, bit 14: byte order) | payload | pad to 4
//   nlmsg:   len u32 | type u16 | flags u16 | seq u32 | pid u32 | family header | attributes
//
// Integers are host order (little endian on every platform this agent runs on) except the
// ones the kernel declares big endian (ports, ethertypes, addresses): `be16`/`bytes`.
import { NLA_F_NESTED, NLA_TYPE_MASK, NLMSG_HDRLEN } from './constants.js';

export const align4 = (n: number): number => (n + 3) & ~3;

/** A reader found a length or type that does not fit: the message is malformed. */
export class MalformedMessage extends Error {
  override readonly name = 'MalformedMessage';
}

export interface Attr {
  /** The type without the nested / byte-order flag bits. */
  readonly type: number;
  readonly nested: boolean;
  /** The payload (a view into the received buffer, not a copy). */
  readonly value: Buffer;
}

/** Splits `buf` into attributes; throws MalformedMessage on a length that leaves the buffer. */
export function readAttrs(buf: Buffer, what: string): Attr[] {
  const out: Attr[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 4) throw new MalformedMessage(`${what}: ${buf.length - off} trailing bytes are not an attribute`);
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < 4 || off + len > buf.length) throw new MalformedMessage(`${what}: attribute type ${rawType & NLA_TYPE_MASK} at offset ${off} has length ${len}, ${buf.length - off} bytes left`);
    out.push({ type: rawType & NLA_TYPE_MASK, nested: (rawType & NLA_F_NESTED) !== 0, value: buf.subarray(off + 4, off + len) });
    off += align4(len); // the last attribute's padding may be cut off by the message end
  }
  return out;
}

/** Attributes by type; the last one of a type wins, as in the kernel's nla_parse. */
export function attrMap(buf: Buffer, what: string): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const a of readAttrs(buf, what)) m.set(a.type, a.value);
  return m;
}

const need = (v: Buffer, n: number, what: string): void => {
  if (v.length < n) throw new MalformedMessage(`${what}: ${v.length} bytes, expected ${n}`);
};
export const getU8 = (v: Buffer, what: string): number => (need(v, 1, what), v.readUInt8(0));
export const getU16 = (v: Buffer, what: string): number => (need(v, 2, what), v.readUInt16LE(0));
export const getBe16 = (v: Buffer, what: string): number => (need(v, 2, what), v.readUInt16BE(0));
export const getU32 = (v: Buffer, what: string): number => (need(v, 4, what), v.readUInt32LE(0));
export const getI32 = (v: Buffer, what: string): number => (need(v, 4, what), v.readInt32LE(0));
export const getBytes = (v: Buffer, n: number, what: string): Buffer => (need(v, n, what), v.subarray(0, n));

/** A NUL-terminated string attribute (the NUL is optional, as the kernel's nla_strscpy accepts). */
export function getString(v: Buffer): string {
  const nul = v.indexOf(0);
  return v.toString('latin1', 0, nul < 0 ? v.length : nul);
}

/**
 * Writes netlink messages and attributes into one buffer, growing it as needed. Lengths
 * of messages and nests are patched when they end, so callers write front to back.
 */
export class NlWriter {
  private buf: Buffer;
  private off = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.alloc(initialSize);
  }

  get length(): number {
    return this.off;
  }

  private reserve(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** Starts a message; returns its offset for endMessage. Requests carry pid 0 (the kernel knows our port). */
  beginMessage(type: number, flags: number, seq: number, pid = 0): number {
    this.reserve(NLMSG_HDRLEN);
    const start = this.off;
    this.buf.writeUInt32LE(0, start);
    this.buf.writeUInt16LE(type, start + 4);
    this.buf.writeUInt16LE(flags, start + 6);
    this.buf.writeUInt32LE(seq >>> 0, start + 8);
    this.buf.writeUInt32LE(pid >>> 0, start + 12);
    this.off += NLMSG_HDRLEN;
    return start;
  }

  endMessage(start: number): void {
    this.buf.writeUInt32LE(this.off - start, start);
  }

  /** Raw bytes (a family header), padded to 4. */
  raw(bytes: Buffer): this {
    const n = align4(bytes.length);
    this.reserve(n);
    bytes.copy(this.buf, this.off);
    this.buf.fill(0, this.off + bytes.length, this.off + n);
    this.off += n;
    return this;
  }

  /** struct tcmsg. `ifindex` may be TCM_IFINDEX_MAGIC_BLOCK (0xffffffff, -1 as the i32 it is). */
  tcmsg(ifindex: number, handle: number, parent: number, info: number): this {
    this.reserve(20);
    const o = this.off;
    this.buf.writeUInt32LE(0, o); // family, pad1, pad2
    this.buf.writeInt32LE(ifindex | 0, o + 4);
    this.buf.writeUInt32LE(handle >>> 0, o + 8);
    this.buf.writeUInt32LE(parent >>> 0, o + 12);
    this.buf.writeUInt32LE(info >>> 0, o + 16);
    this.off += 20;
    return this;
  }

  private header(type: number, payloadLen: number): number {
    if (payloadLen + 4 > 0xffff) throw new Error(`NlWriter: an attribute of ${payloadLen} bytes does not fit an attribute length`);
    this.reserve(4 + align4(payloadLen));
    const o = this.off;
    this.buf.writeUInt16LE(4 + payloadLen, o);
    this.buf.writeUInt16LE(type, o + 2);
    this.off += 4;
    return o + 4;
  }

  private pad(payloadLen: number): void {
    const n = align4(payloadLen) - payloadLen;
    this.buf.fill(0, this.off + payloadLen, this.off + payloadLen + n);
    this.off += payloadLen + n;
  }

  u8(type: number, v: number): this {
    const o = this.header(type, 1);
    this.buf.writeUInt8(v, o);
    this.pad(1);
    return this;
  }

  u16(type: number, v: number): this {
    const o = this.header(type, 2);
    this.buf.writeUInt16LE(v, o);
    this.pad(2);
    return this;
  }

  be16(type: number, v: number): this {
    const o = this.header(type, 2);
    this.buf.writeUInt16BE(v, o);
    this.pad(2);
    return this;
  }

  u32(type: number, v: number): this {
    const o = this.header(type, 4);
    this.buf.writeUInt32LE(v >>> 0, o);
    this.pad(4);
    return this;
  }

  bytes(type: number, v: Buffer): this {
    const o = this.header(type, v.length);
    v.copy(this.buf, o);
    this.pad(v.length);
    return this;
  }

  /** A NUL-terminated string. */
  string(type: number, s: string): this {
    const n = Buffer.byteLength(s, 'latin1') + 1;
    const o = this.header(type, n);
    this.buf.write(s, o, 'latin1');
    this.buf.writeUInt8(0, o + n - 1);
    this.pad(n);
    return this;
  }

  /** Starts a nest; `flagNested` sets NLA_F_NESTED in the type (tc sets it on action options only). */
  beginNest(type: number, flagNested = false): number {
    const start = this.off;
    this.header(flagNested ? type | NLA_F_NESTED : type, 0);
    return start;
  }

  endNest(start: number): void {
    const len = this.off - start;
    if (len > 0xffff) throw new Error(`NlWriter: a nest of ${len} bytes does not fit an attribute length`);
    this.buf.writeUInt16LE(len, start);
  }

  /** The bytes written so far (a view; the writer must not be used afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.off);
  }
}

/** Attribute types below this are indexed in arrays; the kernel's TC types all are (flower's run to ~110). */
const INDEXED_TYPES = 128;

/**
 * Where each attribute of one nest sits in the received buffer, by type, without copying or
 * allocating per attribute (dumps of 10 000 filters are decoded on the agent's only thread).
 * `load` it again for the next nest; the last attribute of a type wins, as in nla_parse.
 */
export class AttrIndex {
  buf: Buffer = Buffer.alloc(0);
  private readonly off = new Int32Array(INDEXED_TYPES);
  private readonly len = new Int32Array(INDEXED_TYPES).fill(-1);
  /** Types present, in order of first appearance. */
  readonly types: number[] = [];
  /** Attributes with a type of INDEXED_TYPES or more: [type, offset, length]. */
  readonly overflow: [number, number, number][] = [];

  load(buf: Buffer, start: number, end: number, what: string): this {
    for (const t of this.types) this.len[t] = -1;
    this.types.length = 0;
    this.overflow.length = 0;
    this.buf = buf;
    let off = start;
    while (off < end) {
      if (end - off < 4) throw new MalformedMessage(`${what}: ${end - off} trailing bytes are not an attribute`);
      const len = buf.readUInt16LE(off);
      const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
      if (len < 4 || off + len > end) throw new MalformedMessage(`${what}: attribute type ${type} at offset ${off - start} has length ${len}, ${end - off} bytes left`);
      if (type < INDEXED_TYPES) {
        if (this.len[type] === -1) this.types.push(type);
        this.off[type] = off + 4;
        this.len[type] = len - 4;
      } else this.overflow.push([type, off + 4, len - 4]);
      off += align4(len);
    }
    return this;
  }

  has(type: number): boolean {
    return type < INDEXED_TYPES && this.len[type]! >= 0;
  }

  /** Payload offset of a present attribute whose payload has at least `n` bytes. */
  private at(type: number, n: number, what: string): number {
    const len = this.len[type]!;
    if (len < n) throw new MalformedMessage(`${what}: ${len} bytes, expected ${n}`);
    return this.off[type]!;
  }

  u8(type: number, what: string): number | undefined {
    return this.has(type) ? this.buf.readUInt8(this.at(type, 1, what)) : undefined;
  }
  u16(type: number, what: string): number | undefined {
    return this.has(type) ? this.buf.readUInt16LE(this.at(type, 2, what)) : undefined;
  }
  be16(type: number, what: string): number | undefined {
    return this.has(type) ? this.buf.readUInt16BE(this.at(type, 2, what)) : undefined;
  }
  u32(type: number, what: string): number | undefined {
    return this.has(type) ? this.buf.readUInt32LE(this.at(type, 4, what)) : undefined;
  }
  be32(type: number, what: string): number | undefined {
    return this.has(type) ? this.buf.readUInt32BE(this.at(type, 4, what)) : undefined;
  }
  /** The i32 at byte `field` of a struct attribute of at least `size` bytes. */
  i32In(type: number, size: number, field: number, what: string): number | undefined {
    return this.has(type) ? this.buf.readInt32LE(this.at(type, size, what) + field) : undefined;
  }
  /** A view of exactly `n` bytes (a copy-free subarray). */
  bytes(type: number, n: number, what: string): Buffer | undefined {
    if (!this.has(type)) return undefined;
    const o = this.at(type, n, what);
    return this.buf.subarray(o, o + n);
  }
  string(type: number): string | undefined {
    if (!this.has(type)) return undefined;
    const o = this.off[type]!;
    const end = o + this.len[type]!;
    const nul = this.buf.indexOf(0, o);
    return this.buf.toString('latin1', o, nul < 0 || nul > end ? end : nul);
  }
  /** Loads the nest at `type` into `into`; false when absent. */
  nest(type: number, into: AttrIndex, what: string): boolean {
    if (!this.has(type)) return false;
    into.load(this.buf, this.off[type]!, this.off[type]! + this.len[type]!, what);
    return true;
  }
  /** The raw payload of any attribute, for the "everything else" text. */
  hex(type: number): string {
    return this.buf.toString('hex', this.off[type]!, this.off[type]! + this.len[type]!);
  }
}
