// The real agent as a separate process (the compiled CLI, `--manifests`), for the zero-gap
// test: started, stopped with SIGTERM, restarted. Its stdout (applied changes) and stderr
// (JSON logs at -v 1) are kept for the checks.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep } from './sh.js';

/** core/cli/run.js of the build this file was compiled into. */
export const CLI = fileURLToPath(new URL('../../../core/cli/run.js', import.meta.url));

export interface AgentLogLine {
  readonly msg?: string;
  readonly full?: boolean;
  readonly applied?: number;
  readonly failed?: number;
  readonly level?: string;
  readonly [k: string]: unknown;
}

export class AgentProcess {
  stdout = '';
  stderr = '';
  readonly logs: AgentLogLine[] = [];
  readonly exited: Promise<number>;
  private readonly proc: ChildProcess;

  constructor(args: readonly string[]) {
    const env = { ...process.env };
    delete env['NODE_EXTRA_CA_CERTS'];
    this.proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.proc.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    let partial = '';
    this.proc.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        try {
          this.logs.push(JSON.parse(l) as AgentLogLine);
        } catch {
          // not a log line
        }
      }
    });
    this.exited = new Promise((done) => this.proc.on('exit', (code, signal) => done(code ?? (signal ? 128 : 1))));
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Full passes logged so far ('pass done' with full: true). */
  passes(): AgentLogLine[] {
    return this.logs.filter((l) => l.msg === 'pass done');
  }

  async waitFor(what: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (what()) return true;
      if (this.proc.exitCode !== null) return what();
      await sleep(200);
    }
    return what();
  }

  async stop(ms = 30_000): Promise<number> {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  /** stdout lines of applied changes (`== <netdev> ...`, see core/report/change-printer.ts). */
  changes(): string[] {
    return this.stdout.split('\n').filter((l) => l.startsWith('== '));
  }

  tail(n = 15): string {
    return [...this.stdout.trim().split('\n').slice(-n), ...this.stderr.trim().split('\n').slice(-n)].join('\n');
  }
}
