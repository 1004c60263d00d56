// The one place that touches the host: an AF_NETLINK/NETLINK_ROUTE socket through libc,
// called with ffi-rs. Every call is synchronous on the JS thread, so the socket gets
// SO_RCVTIMEO: a receive returns EAGAIN after the timeout instead of blocking the agent.
//
//   socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE); bind(pid 0: the kernel picks
//   our port); getsockname → port id; NETLINK_EXT_ACK (error text), NETLINK_CAP_ACK (errors
//   do not echo the whole request); sendto(kernel); recvfrom(MSG_TRUNC: the real length).
import { DataType, define, open } from 'ffi-rs';
import { AF_NETLINK, MSG_TRUNC, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_ROUTE, SO_RCVBUF, SO_RCVTIMEO, SO_SNDBUF, SOL_NETLINK, SOL_SOCKET } from './constants.js';
import { EPROTO, strerror } from './errno.js';
import type { NetlinkSocketFactory, SocketResult } from './socket.js';

const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
/** Buffers the kernel may hold for us: a window's worth of error replies must never be dropped. */
const BUFFER_BYTES = 1 << 20;
const LIBRARY = 'mnp-tc-netlink-libc';

type Errno = { value: number; errnoCode: number; errnoMessage: string };

function bindLibc() {
  open({ library: LIBRARY, path: 'libc.so.6' });
  const I32 = DataType.I32;
  const BUF = DataType.U8Array;
  const I64 = DataType.I64;
  const fn = (paramsType: DataType[], retType: DataType = I32) => ({ library: LIBRARY, retType, paramsType, errno: true as const });
  // define() uses each key as the C symbol name
  return define({
    socket: fn([I32, I32, I32]),
    bind: fn([I32, BUF, I32]),
    getsockname: fn([I32, BUF, BUF]),
    setsockopt: fn([I32, I32, I32, BUF, I32]),
    sendto: fn([I32, BUF, I64, I32, BUF, I32], I64),
    recvfrom: fn([I32, BUF, I64, I32, BUF, BUF], I64),
    close: fn([I32]),
  }) as unknown as Record<'socket' | 'bind' | 'getsockname' | 'setsockopt' | 'sendto' | 'recvfrom' | 'close', (args: unknown[]) => Errno>;
}

const fail = <T>(call: string, errno: number, message = strerror(errno)): SocketResult<T> => ({ ok: false, error: { call, errno, message } });

/** sockaddr_nl { family u16, pad u16, pid u32, groups u32 } */
function sockaddrNl(pid = 0): Buffer {
  const sa = Buffer.alloc(12);
  sa.writeUInt16LE(AF_NETLINK, 0);
  sa.writeUInt32LE(pid, 4);
  return sa;
}

export const openFfiNetlinkSocket: NetlinkSocketFactory = (options) => {
  const libc = bindLibc();
  const s = libc.socket([AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE]);
  if (s.value < 0) return fail('socket', s.errnoCode);
  const fd = s.value;
  const closeOnError = <T>(r: SocketResult<T>): SocketResult<T> => {
    libc.close([fd]);
    return r;
  };
  const int = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return b;
  };
  const setopt = (level: number, name: number, value: Buffer, what: string): SocketResult<void> => {
    const r = libc.setsockopt([fd, level, name, value, value.length]);
    return r.value < 0 ? fail(`setsockopt(${what})`, r.errnoCode) : { ok: true, value: undefined };
  };
  const timeval = Buffer.alloc(16);
  const ms = Math.max(1, Math.round(options.receiveTimeoutMs));
  timeval.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  timeval.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
  for (const r of [
    setopt(SOL_SOCKET, SO_RCVTIMEO, timeval, 'SO_RCVTIMEO'),
    setopt(SOL_SOCKET, SO_SNDBUF, int(BUFFER_BYTES), 'SO_SNDBUF'),
    setopt(SOL_SOCKET, SO_RCVBUF, int(BUFFER_BYTES), 'SO_RCVBUF'),
    setopt(SOL_NETLINK, NETLINK_EXT_ACK, int(1), 'NETLINK_EXT_ACK'),
    setopt(SOL_NETLINK, NETLINK_CAP_ACK, int(1), 'NETLINK_CAP_ACK'),
  ]) {
    if (!r.ok) return closeOnError(r);
  }
  const kernel = sockaddrNl(0);
  const b = libc.bind([fd, sockaddrNl(0), 12]);
  if (b.value < 0) return closeOnError(fail('bind', b.errnoCode));
  const name = Buffer.alloc(12);
  const nameLen = int(12);
  const g = libc.getsockname([fd, name, nameLen]);
  if (g.value < 0) return closeOnError(fail('getsockname', g.errnoCode));
  const portId = name.readUInt32LE(4);
  const from = Buffer.alloc(12);
  const fromLen = Buffer.alloc(4);
  let isOpen = true;

  return {
    ok: true,
    value: {
      portId,
      send(buf) {
        if (!isOpen) return fail('sendto', 9);
        const r = libc.sendto([fd, buf, buf.length, 0, kernel, 12]);
        if (r.value < 0) return fail('sendto', r.errnoCode);
        if (r.value !== buf.length) return fail('sendto', EPROTO, `sent ${r.value} of ${buf.length} bytes`);
        return { ok: true, value: undefined };
      },
      receive(buf) {
        if (!isOpen) return fail('recvfrom', 9);
        for (;;) {
          fromLen.writeUInt32LE(12);
          const r = libc.recvfrom([fd, buf, buf.length, MSG_TRUNC, from, fromLen]);
          if (r.value < 0) return fail('recvfrom', r.errnoCode);
          // only the kernel (port 0) talks to us; anything else is dropped unread
          if (from.readUInt32LE(4) !== 0) continue;
          return { ok: true, value: r.value };
        }
      },
      close() {
        if (isOpen) libc.close([fd]);
        isOpen = false;
      },
    },
  };
};
