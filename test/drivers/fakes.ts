// Fakes shared by the driver tests: an Exec that records argv and stdin, a pino logger that
// keeps its lines.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Exec, ExecResult, Logger } from '../../core/api/ports.js';

export interface ExecCall {
  readonly file: string;
  readonly args: readonly string[];
  readonly input: string | undefined;
  readonly timeoutMs: number | undefined;
}

export class FakeExec implements Exec {
  readonly calls: ExecCall[] = [];
  constructor(private readonly reply: (call: ExecCall) => ExecResult = () => ({ exitCode: 0, stdout: '', stderr: '' })) {}
  async run(file: string, args: readonly string[], opts?: { readonly input?: string; readonly timeoutMs?: number }): Promise<ExecResult> {
    const call = { file, args: [...args], input: opts?.input, timeoutMs: opts?.timeoutMs };
    this.calls.push(call);
    return this.reply(call);
  }
}

export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      raw.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export const silentLogger = (): Logger => pino({ level: 'silent' });
