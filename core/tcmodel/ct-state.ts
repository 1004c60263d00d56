// Conntrack state flags as a bit set, and the `+trk+new-est` syntax of flower's ct_state key.
import { CT_FLAGS, type CtFlag } from '../model/tc.js';

/** One bit per flag, in CT_FLAGS order. 0 = the frame never met a `ct` action on this hook. */
export type CtBits = number;

export const ctBit = (flag: CtFlag): CtBits => 1 << CT_FLAGS.indexOf(flag);

export function ctBits(...flags: readonly CtFlag[]): CtBits {
  let bits = 0;
  for (const f of flags) bits |= ctBit(f);
  return bits;
}

/** `+trk+new` style, flags in CT_FLAGS order; '' for no flags. */
export function formatCtBits(bits: CtBits): string {
  return CT_FLAGS.filter((f) => (bits & ctBit(f)) !== 0)
    .map((f) => `+${f}`)
    .join('');
}

export interface CtStateKey {
  /** Every flag the key names, set or cleared. */
  readonly mask: CtBits;
  /** The flags named with `+`. */
  readonly value: CtBits;
}

/** Parses `+trk+new`, `-trk`, `+trk-est`; null on anything else (unknown flag, bad sign). */
export function parseCtState(text: string): CtStateKey | null {
  const re = /([+-])([a-z]+)/g;
  let mask = 0;
  let value = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) return null;
    consumed += m[0].length;
    const flag = m[2] as CtFlag;
    if (!CT_FLAGS.includes(flag)) return null;
    mask |= ctBit(flag);
    if (m[1] === '+') value |= ctBit(flag);
  }
  if (consumed !== text.length || consumed === 0) return null;
  return { mask, value };
}

/** Flower's ct_state test: the listed flags must be exactly as listed, the rest are ignored. */
export function ctStateMatches(key: CtStateKey, frameBits: CtBits): boolean {
  return (frameBits & key.mask) === key.value;
}
