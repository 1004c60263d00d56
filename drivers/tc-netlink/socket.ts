// The port through which the netlink driver reaches the kernel: one rtnetlink socket.
// The real one is ffi-socket.ts (libc through ffi-rs); tests bind fakes.

export interface SocketError {
  readonly call: string;
  readonly errno: number;
  readonly message: string;
}

export type SocketResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SocketError };

/** A connected rtnetlink socket. Datagrams from anyone but the kernel are never returned. */
export interface NetlinkSocket {
  /** Our netlink port id: the kernel's replies carry it in nlmsg_pid. */
  readonly portId: number;
  /** Sends the whole buffer (any number of messages) as one datagram to the kernel. */
  send(buf: Buffer): SocketResult<void>;
  /** Receives one datagram into `buf`; its length (more than buf.length: it was cut off). EAGAIN: timed out. */
  receive(buf: Buffer): SocketResult<number>;
  close(): void;
}

export interface SocketOptions {
  /** SO_RCVTIMEO: how long one receive may block. */
  readonly receiveTimeoutMs: number;
}

export type NetlinkSocketFactory = (options: SocketOptions) => SocketResult<NetlinkSocket>;
export const NetlinkSocketFactory = Symbol.for('mnp-tc.tc-netlink.SocketFactory');

