// The real Exec port: execa with an argument array (never a shell), stdin from `input`, a
// timeout, and `reject: false` so a non-zero exit is a value. A program that cannot start or
// is killed comes back as exit code -1 with the reason appended to stderr.
import { execa } from 'execa';
import { injectable } from 'inversify';
import type { Exec, ExecResult } from '../../core/api/ports.js';

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

@injectable()
export class ExecaExec implements Exec {
  async run(file: string, args: readonly string[], opts: { readonly input?: string; readonly timeoutMs?: number } = {}): Promise<ExecResult> {
    const r = await execa(file, [...args], {
      input: opts.input ?? '',
      timeout: opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
      reject: false,
      shell: false,
      stripFinalNewline: false,
      // tc's output and messages are English and stable only in the C locale
      env: { LC_ALL: 'C' },
    });
    const stdout = typeof r.stdout === 'string' ? r.stdout : '';
    const stderr = typeof r.stderr === 'string' ? r.stderr : '';
    if (typeof r.exitCode === 'number' && !r.timedOut) return { exitCode: r.exitCode, stdout, stderr };
    // spawn failure (ENOENT), timeout, signal: no exit code of the program itself
    const why = r.timedOut ? `timed out after ${opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS} ms` : (r.shortMessage ?? 'killed');
    return { exitCode: -1, stdout, stderr: stderr === '' ? why : `${stderr}\n${why}` };
  }
}
