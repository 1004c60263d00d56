// Ports: the only ways plugins and drivers reach the host. The core binds real ones at
// startup; tests bind fakes.
import type { Logger as PinoLogger } from 'pino';

export const Exec = Symbol.for('mnp-tc.Exec');
export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}
export interface Exec {
  /** Run `file` with `args` (never through a shell), `input` on stdin. Never rejects on a non-zero exit. */
  run(file: string, args: readonly string[], opts?: { readonly input?: string; readonly timeoutMs?: number }): Promise<ExecResult>;
}

export const Sysfs = Symbol.for('mnp-tc.Sysfs');
export interface Sysfs {
  /** Paths are absolute as on a real host (`/sys/bus/pci/devices/...`); the port maps them to its root. */
  readFile(path: string): Promise<string | undefined>;
  readlink(path: string): Promise<string | undefined>;
  readdir(path: string): Promise<readonly string[]>;
}

export const Logger = Symbol.for('mnp-tc.Logger');
export type Logger = PinoLogger;

export const Clock = Symbol.for('mnp-tc.Clock');
export interface Clock {
  now(): number;
}
