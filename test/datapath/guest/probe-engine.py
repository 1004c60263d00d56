#!/usr/bin/env python3
# The packet side of the datapath harness, in the lab guest: ONE python process for the whole
# run (a python start costs ~0.5-2 s under TCG). It enters a pod's network namespace per
# socket (setns(2) on the calling thread, then back): a socket belongs to the namespace it was
# created in, so everything after creation runs in any thread.
#
# Protocol: one JSON object per line on stdin, one reply per line on stdout, matched by "id".
#   {"id":1,"op":"listen","ns":"p-1a2b","proto":"TCP","port":5555}
#   {"id":2,"op":"probes","probes":[{"ns":..,"src":..,"dev":..,"dst":..,"proto":..,"port":..,"timeout":2,"token":"t1"}]}
#   {"id":3,"op":"seen","ns":..,"proto":"UDP","port":5555,"token":"t1"}
#   {"id":4,"op":"close_ns","ns":..}          close every socket created in that namespace
#   {"id":5,"op":"ct_flush"}                    flush the root namespace's conntrack table
#   {"id":6,"op":"stream_start","sid":"a","kind":"udp-flows|tcp-flows|tcp-long",...}
#   {"id":7,"op":"period","name":"change"}      label for what streams send from now on
#   {"id":8,"op":"stream_stats"}                per stream, per period: counters
#   {"id":9,"op":"stream_stop"}
# Replies: {"id":..,"ok":true,...} or {"id":..,"ok":false,"error":"..."}.
import ctypes
import json
import os
import selectors
import socket
import struct
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_root_ns = os.open('/proc/self/ns/net', os.O_RDONLY)
_out_lock = threading.Lock()
_state_lock = threading.Lock()

IPPROTO_SCTP = getattr(socket, 'IPPROTO_SCTP', 132)
SO_BINDTODEVICE = getattr(socket, 'SO_BINDTODEVICE', 25)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, 'setns: ' + os.strerror(e))


def new_socket(ns, family, kind, proto=0):
    """A socket created inside network namespace `ns` (None: the root namespace)."""
    if ns is None:
        return socket.socket(family, kind, proto)
    fd = os.open('/run/netns/' + ns, os.O_RDONLY)
    try:
        _setns(fd)
        try:
            return socket.socket(family, kind, proto)
        finally:
            _setns(_root_ns)
    finally:
        os.close(fd)


# every socket by namespace, so that a namespace can be released before it is deleted
_sockets = {}


def track(ns, s):
    with _state_lock:
        _sockets.setdefault(ns, set()).add(s)
    return s


def untrack(ns, s):
    with _state_lock:
        _sockets.get(ns, set()).discard(s)


def kill(s):
    for f in (lambda: s.shutdown(socket.SHUT_RDWR), s.close):
        try:
            f()
        except OSError:
            pass


def sock_kind(proto):
    return {'TCP': (socket.SOCK_STREAM, 0), 'UDP': (socket.SOCK_DGRAM, 0), 'SCTP': (socket.SOCK_STREAM, IPPROTO_SCTP)}[proto]


def family_of(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


# ------------------------------------------------------------------ servers
# (ns, proto, port) -> {"sock", "tokens": set}; tokens are the first word of each line received
_servers = {}


def record(server, line):
    tok = line.split(b' ', 1)[0].strip()
    if tok:
        with _state_lock:
            server['tokens'].add(tok.decode(errors='replace'))


def serve_stream(ns, server):
    s = server['sock']
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            return
        track(ns, c)
        threading.Thread(target=echo_stream, args=(ns, server, c), daemon=True).start()


def echo_stream(ns, server, c):
    buf = b''
    try:
        while True:
            data = c.recv(4096)
            if not data:
                return
            buf += data
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                record(server, line)
                c.sendall(line + b'\n')
    except OSError:
        return
    finally:
        untrack(ns, c)
        kill(c)


def serve_dgram(ns, server):
    s = server['sock']
    while True:
        try:
            data, peer = s.recvfrom(4096)
        except OSError:
            return
        if not data:  # shutdown wakes recvfrom with an empty read
            return
        record(server, data.split(b'\n', 1)[0])
        try:
            s.sendto(data, peer)
        except OSError:
            pass


def listen(ns, proto, port):
    key = (ns, proto, port)
    if key in _servers:
        return
    kind, ipproto = sock_kind(proto)
    s = track(ns, new_socket(ns, socket.AF_INET6, kind, ipproto))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', port))
    server = {'sock': s, 'tokens': set()}
    if kind == socket.SOCK_STREAM:
        s.listen(128)
        target = serve_stream
    else:
        target = serve_dgram
    _servers[key] = server
    threading.Thread(target=target, args=(ns, server), daemon=True).start()


def close_ns(ns):
    for key in [k for k in _servers if k[0] == ns]:
        del _servers[key]
    with _state_lock:
        socks = list(_sockets.pop(ns, set()))
    for s in socks:
        kill(s)
    stop_streams(ns)


# ------------------------------------------------------------------ probes
def client(p, proto=None):
    """A client socket of probe/stream spec `p`, bound to its interface and source address."""
    kind, ipproto = sock_kind(proto or p['proto'])
    fam = family_of(p['dst'])
    s = track(p['ns'], new_socket(p['ns'], fam, kind, ipproto))
    if p.get('dev'):
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, p['dev'].encode())
    if p.get('src'):
        s.bind((p['src'], 0))
    return s


def read_line(s):
    buf = b''
    while b'\n' not in buf:
        data = s.recv(4096)
        if not data:
            raise ConnectionResetError('connection closed before the reply')
        buf += data
    return buf.split(b'\n', 1)[0]


def probe(p):
    """One request/reply exchange: {"result": "reply"|"timeout"|"refused"|"error", "detail", "ms"}."""
    t0 = time.monotonic()
    line = (p['token'] + ' hello').encode()
    s = None
    try:
        s = client(p)
        s.settimeout(p['timeout'])
        if p['proto'] == 'UDP':
            s.connect((p['dst'], p['port']))
            s.send(line + b'\n')
            got = s.recv(4096).split(b'\n', 1)[0]
        else:
            s.connect((p['dst'], p['port']))
            s.sendall(line + b'\n')
            got = read_line(s)
        if got != line:
            return {'result': 'error', 'detail': 'unexpected reply %r' % got[:60], 'ms': ms(t0)}
        return {'result': 'reply', 'detail': '', 'ms': ms(t0)}
    except socket.timeout:
        return {'result': 'timeout', 'detail': 'no reply within %.1f s' % p['timeout'], 'ms': ms(t0)}
    except ConnectionRefusedError as e:
        return {'result': 'refused', 'detail': str(e), 'ms': ms(t0)}
    except OSError as e:
        return {'result': 'error', 'detail': '%s: %s' % (type(e).__name__, e), 'ms': ms(t0)}
    finally:
        if s is not None:
            untrack(p['ns'], s)
            kill(s)


def ms(t0):
    return int((time.monotonic() - t0) * 1000)


def run_probes(probes):
    out = [None] * len(probes)

    def one(i):
        out[i] = probe(probes[i])

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(probes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def seen(ns, proto, port, token):
    server = _servers.get((ns, proto, port))
    with _state_lock:
        return server is not None and token in server['tokens']


# ------------------------------------------------------------------ conntrack
def ct_flush():
    """IPCTNL_MSG_CT_DELETE without a tuple = flush, per family (what `conntrack -F` sends)."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
    try:
        for seq, fam in enumerate((socket.AF_INET, socket.AF_INET6), 1):
            payload = struct.pack('=BBH', fam, 0, 0)  # nfgenmsg
            msg_type = (1 << 8) | 2  # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE
            s.send(struct.pack('=IHHII', 16 + len(payload), msg_type, 1 | 4, seq, 0) + payload)
            ack = s.recv(65536)
            code = struct.unpack('=i', ack[16:20])[0] if len(ack) >= 20 else 0
            if code not in (0, -2):  # -ENOENT: nothing to flush
                raise OSError(-code, 'conntrack flush: ' + os.strerror(-code))
    finally:
        s.close()


# ------------------------------------------------------------------ streams (zero-gap test)
_period = ['idle']
_streams = {}


class Stream:
    """A steady flow of probes from one namespace; counters per period of the sending time."""

    def __init__(self, spec):
        self.spec = spec
        self.stop = threading.Event()
        self.stats = {}
        self.alive = True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def count(self, period, key, n=1):
        with _state_lock:
            st = self.stats.setdefault(period, {})
            st[key] = st.get(key, 0) + n

    def peak(self, period, key, v):
        with _state_lock:
            st = self.stats.setdefault(period, {})
            st[key] = max(st.get(key, 0), v)

    def run(self):
        try:
            getattr(self, 'run_' + self.spec['kind'].replace('-', '_'))()
        except Exception as e:  # a stream that dies is reported, not silently missing
            self.count(_period[0], 'crashed')
            self.error = '%s: %s' % (type(e).__name__, e)
        self.alive = False

    def run_udp_flows(self):
        # every datagram from a fresh socket (new source port): a new conntrack flow each, so
        # each one meets the +trk+new rules that a rebuild replaces
        sp = self.spec
        interval = 1.0 / sp['rate']
        sel = selectors.DefaultSelector()
        pending = {}
        seq = 0
        nxt = time.monotonic()
        while not (self.stop.is_set() and not pending):
            now = time.monotonic()
            if not self.stop.is_set() and now >= nxt:
                seq += 1
                period = _period[0]
                tok = '%s:%d:%s' % (sp['sid'], seq, period)
                s = client(sp, 'UDP')
                s.setblocking(False)
                s.connect((sp['dst'], sp['port']))
                try:
                    s.send((tok + '\n').encode())
                    self.count(period, 'sent')
                except OSError:
                    self.count(period, 'send_error')
                sel.register(s, selectors.EVENT_READ, (tok, period, now))
                pending[s] = now
                nxt += interval
                if nxt < now - 1:  # fell behind (TCG slow phase): do not burst
                    nxt = now + interval
            for key, _ in sel.select(timeout=max(0.0, min(0.05, nxt - time.monotonic()))):
                s = key.fileobj
                tok, period, t0 = key.data
                try:
                    got = s.recv(4096).split(b'\n', 1)[0].decode(errors='replace')
                    if got == tok:
                        self.count(period, 'replied')
                        self.peak(period, 'max_rtt_ms', int((time.monotonic() - t0) * 1000))
                except OSError:
                    self.count(period, 'recv_error')
                sel.unregister(s)
                pending.pop(s, None)
                untrack(sp['ns'], s)
                s.close()
            # a reply later than `wait` seconds counts as lost
            for s, t0 in list(pending.items()):
                if time.monotonic() - t0 > sp.get('wait', 3.0):
                    sel.unregister(s)
                    pending.pop(s)
                    untrack(sp['ns'], s)
                    s.close()

    def run_tcp_flows(self):
        # a new TCP connection per tick: handshake + one echoed line, then close
        sp = self.spec
        interval = 1.0 / sp['rate']
        seq = 0
        while not self.stop.is_set():
            t0 = time.monotonic()
            seq += 1
            period = _period[0]
            tok = '%s:%d:%s' % (sp['sid'], seq, period)
            self.count(period, 'sent')
            r = probe(dict(sp, proto='TCP', token=tok, timeout=sp.get('wait', 3.0)))
            if r['result'] == 'reply':
                self.count(period, 'replied')
                self.peak(period, 'max_rtt_ms', r['ms'])
            else:
                self.count(period, 'failed')
            time.sleep(max(0.0, interval - (time.monotonic() - t0)))

    def run_tcp_long(self):
        # ONE connection opened before anything changes; a line echoed every tick
        sp = self.spec
        s = client(sp, 'TCP')
        s.settimeout(sp.get('wait', 3.0))
        s.connect((sp['dst'], sp['port']))
        self.ready.set()
        seq = 0
        while not self.stop.is_set():
            t0 = time.monotonic()
            seq += 1
            period = _period[0]
            line = ('%s:%d:%s' % (sp['sid'], seq, period)).encode()
            self.count(period, 'sent')
            try:
                s.sendall(line + b'\n')
                if read_line(s) == line:
                    self.count(period, 'replied')
                    self.peak(period, 'max_rtt_ms', ms(t0))
                else:
                    self.count(period, 'failed')
            except OSError:
                self.count(period, 'failed')
            time.sleep(max(0.0, 1.0 / sp['rate'] - (time.monotonic() - t0)))
        untrack(sp['ns'], s)
        kill(s)


def stream_start(spec):
    st = Stream(spec)
    st.error = None
    st.ready = threading.Event()
    _streams[spec['sid']] = st
    st.thread.start()
    if spec['kind'] == 'tcp-long':
        if not st.ready.wait(spec.get('wait', 3.0) + 1):
            raise OSError('the long-lived TCP connection could not be opened: %s' % (st.error or 'timeout'))


def stop_streams(ns=None):
    for sid, st in list(_streams.items()):
        if ns is None or st.spec['ns'] == ns:
            st.stop.set()
    for sid, st in list(_streams.items()):
        if ns is None or st.spec['ns'] == ns:
            st.thread.join(10)


def stream_stats():
    out = {}
    for sid, st in _streams.items():
        with _state_lock:
            stats = json.loads(json.dumps(st.stats))
        # what each stream's server received, per period (from the tokens sid:seq:period)
        server = _servers.get((st.spec['dst_ns'], 'TCP' if st.spec['kind'] != 'udp-flows' else 'UDP', st.spec['port']))
        if server is not None:
            with _state_lock:
                toks = [t for t in server['tokens'] if t.startswith(sid + ':')]
            for t in toks:
                period = t.rsplit(':', 1)[1]
                stats.setdefault(period, {})
                stats[period]['server_received'] = stats[period].get('server_received', 0) + 1
        out[sid] = {'kind': st.spec['kind'], 'alive': st.alive, 'error': st.error, 'periods': stats}
    return out


# ------------------------------------------------------------------ main loop
def handle(req):
    op = req['op']
    if op == 'ping':
        return {'pid': os.getpid(), 'sctp': sctp_ok()}
    if op == 'listen':
        listen(req['ns'], req['proto'], req['port'])
        return {}
    if op == 'probes':
        return {'results': run_probes(req['probes'])}
    if op == 'seen':
        return {'seen': seen(req['ns'], req['proto'], req['port'], req['token'])}
    if op == 'close_ns':
        close_ns(req['ns'])
        return {}
    if op == 'ct_flush':
        ct_flush()
        return {}
    if op == 'period':
        _period[0] = req['name']
        return {}
    if op == 'stream_start':
        stream_start(req['spec'])
        return {}
    if op == 'stream_stats':
        return {'streams': stream_stats()}
    if op == 'stream_stop':
        stop_streams()
        return {'streams': stream_stats()}
    raise ValueError('unknown op %r' % op)


def sctp_ok():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP).close()
        return True
    except OSError as e:
        return '%s' % e


def reply(obj):
    with _out_lock:
        sys.stdout.write(json.dumps(obj) + '\n')
        sys.stdout.flush()


def worker(req):
    try:
        reply(dict(handle(req), id=req.get('id'), ok=True))
    except Exception as e:
        reply({'id': req.get('id'), 'ok': False, 'error': '%s: %s' % (type(e).__name__, e)})


def main():
    for raw in sys.stdin:
        raw = raw.strip()
        if not raw:
            continue
        req = json.loads(raw)
        # slow ops (probes, stream stop) run in their own thread so that others are not queued
        threading.Thread(target=worker, args=(req,), daemon=True).start()


if __name__ == '__main__':
    main()
