// The node side of probe-engine.py: one python process for the whole run, requests and replies
// as JSON lines. See probe-engine.py for the operations.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ProbeSpec {
  readonly ns: string;
  readonly src: string;
  readonly dev: string;
  readonly dst: string;
  readonly proto: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  readonly timeout: number;
  readonly token: string;
}

export interface ProbeReply {
  readonly result: 'reply' | 'timeout' | 'refused' | 'error';
  readonly detail: string;
  readonly ms: number;
}

export interface StreamSpec {
  readonly sid: string;
  readonly kind: 'udp-flows' | 'tcp-flows' | 'tcp-long';
  readonly ns: string;
  readonly src: string;
  readonly dev: string;
  readonly dst: string;
  readonly dst_ns: string;
  readonly port: number;
  /** per second */
  readonly rate: number;
  /** seconds a reply may take before the packet counts as lost */
  readonly wait: number;
}

export type PeriodCounters = Partial<Record<'sent' | 'replied' | 'failed' | 'server_received' | 'send_error' | 'recv_error' | 'crashed' | 'max_rtt_ms', number>>;
export interface StreamStats {
  readonly kind: string;
  readonly alive: boolean;
  readonly error: string | null;
  readonly periods: Record<string, PeriodCounters>;
}

/** The first python3 in PATH that is not a version-manager shim (a pyenv shim costs ~3 s per start in the guest). */
export async function findPython(): Promise<string> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '' || /shims|pyenv/.test(dir)) continue;
    const p = join(dir, 'python3');
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  }
  throw new Error('no python3 in PATH (outside version-manager shims): the probes need it');
}

export class Engine {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private exited: string | undefined;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stdout.write(`probe engine: ${line}\n`);
        return;
      }
      const w = this.waiting.get(msg['id'] as number);
      if (!w) return;
      this.waiting.delete(msg['id'] as number);
      if (msg['ok'] === true) w.resolve(msg);
      else w.reject(new Error(`probe engine: ${String(msg['error'])}`));
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    proc.on('exit', (code, signal) => {
      this.exited = `probe engine exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ''}`;
      for (const w of this.waiting.values()) w.reject(new Error(this.exited));
      this.waiting.clear();
    });
  }

  static async start(script: string): Promise<Engine> {
    const python = await findPython();
    const proc = spawn(python, ['-u', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const e = new Engine(proc);
    await e.call({ op: 'ping' });
    return e;
  }

  call(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.proc.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  async sctp(): Promise<true | string> {
    return (await this.call({ op: 'ping' }))['sctp'] as true | string;
  }

  async listen(ns: string, proto: string, port: number): Promise<void> {
    await this.call({ op: 'listen', ns, proto, port });
  }

  async probes(probes: readonly ProbeSpec[]): Promise<ProbeReply[]> {
    if (probes.length === 0) return [];
    return (await this.call({ op: 'probes', probes }))['results'] as ProbeReply[];
  }

  async seen(ns: string, proto: string, port: number, token: string): Promise<boolean> {
    return (await this.call({ op: 'seen', ns, proto, port, token }))['seen'] === true;
  }

  async closeNs(ns: string): Promise<void> {
    await this.call({ op: 'close_ns', ns });
  }

  async ctFlush(): Promise<void> {
    await this.call({ op: 'ct_flush' });
  }

  async period(name: string): Promise<void> {
    await this.call({ op: 'period', name });
  }

  async streamStart(spec: StreamSpec): Promise<void> {
    await this.call({ op: 'stream_start', spec });
  }

  async streamStats(): Promise<Record<string, StreamStats>> {
    return (await this.call({ op: 'stream_stats' }))['streams'] as Record<string, StreamStats>;
  }

  async streamStop(): Promise<Record<string, StreamStats>> {
    return (await this.call({ op: 'stream_stop' }))['streams'] as Record<string, StreamStats>;
  }

  stop(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}
