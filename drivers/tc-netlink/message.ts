// Netlink message framing: split a received datagram into messages, read the kernel's
// error/ACK replies with their extended-ACK text. Pure.
//
//   NLMSG_ERROR payload:  error i32 (0 = ACK, else -errno) | the request's nlmsghdr
//                         | the request's payload, unless NLM_F_CAPPED | TLVs if NLM_F_ACK_TLVS
//   NLMSG_DONE payload:   error i32 | TLVs if NLM_F_ACK_TLVS   (ends a dump)
import { align4, getString, getU32, MalformedMessage, readAttrs } from './attr.js';
import { NLM_F, NLMSG, NLMSG_HDRLEN, NLMSGERR_ATTR } from './constants.js';

export interface NlMsg {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Everything after the 16-byte header, nlmsg_len - 16 bytes (a view). */
  readonly payload: Buffer;
}

/** What the kernel said about one request: errno 0 is an ACK. */
export interface NlStatus {
  readonly errno: number;
  /** NLMSGERR_ATTR_MSG: the extended ACK text, e.g. "Exclusivity flag on, cannot modify". */
  readonly message?: string;
  /** NLMSGERR_ATTR_OFFS: where in the request the offending attribute starts. */
  readonly offset?: number;
}

/** The messages of one datagram; throws MalformedMessage on a length that does not fit. */
export function splitMessages(buf: Buffer): NlMsg[] {
  const out: NlMsg[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) throw new MalformedMessage(`${buf.length - off} trailing bytes are not a netlink message`);
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) throw new MalformedMessage(`message at offset ${off} has length ${len}, ${buf.length - off} bytes left`);
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** The status in an NLMSG_ERROR or NLMSG_DONE message; throws MalformedMessage when it is cut short. */
export function readStatus(msg: NlMsg): NlStatus {
  const what = msg.type === NLMSG.ERROR ? 'error reply' : 'end of dump';
  if (msg.payload.length < 4) throw new MalformedMessage(`${what} of ${msg.payload.length} bytes has no error code`);
  const code = msg.payload.readInt32LE(0);
  const errno = code === 0 ? 0 : -code; // never -0
  if (code > 0) throw new MalformedMessage(`${what} carries a positive error code ${code}`);
  if ((msg.flags & NLM_F.ACK_TLVS) === 0) return { errno };
  let tlvStart = 4;
  if (msg.type === NLMSG.ERROR) {
    if (msg.payload.length < 4 + NLMSG_HDRLEN) throw new MalformedMessage(`${what} has no copy of the request header`);
    const origLen = msg.payload.readUInt32LE(4);
    tlvStart = 4 + ((msg.flags & NLM_F.CAPPED) !== 0 ? NLMSG_HDRLEN : align4(origLen));
    if (tlvStart > msg.payload.length) throw new MalformedMessage(`${what}: the copied request (${origLen} bytes) runs past the reply`);
  }
  let message: string | undefined;
  let offset: number | undefined;
  for (const a of readAttrs(msg.payload.subarray(tlvStart), `${what} TLVs`)) {
    if (a.type === NLMSGERR_ATTR.MSG) message = getString(a.value);
    else if (a.type === NLMSGERR_ATTR.OFFS) offset = getU32(a.value, 'NLMSGERR_ATTR_OFFS');
  }
  return { errno, ...(message !== undefined && message !== '' ? { message } : {}), ...(offset !== undefined ? { offset } : {}) };
}
