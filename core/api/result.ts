// Expected failures are values, not exceptions: a stage or port returns a Result and the
// caller decides. `throw` is kept for bugs.
import type { AgentError } from './errors.js';

export type Result<T, E = AgentError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });
