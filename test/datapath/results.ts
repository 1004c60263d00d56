// What the guest writes (one JSON object per line in <out>/results.jsonl) and how the host
// prints it. Pure: shared by the guest orchestrator, the host entry and their unit tests.

export interface ProbeOutcome {
  readonly kind: 'probe';
  /** The case name. */
  readonly suite: string;
  readonly file: string;
  readonly step: number | null;
  readonly probe: number;
  readonly from: string;
  readonly to: string;
  readonly network: string;
  readonly family: string;
  readonly protocol: string;
  readonly port: number;
  readonly expect: string;
  /** allow | deny | error */
  readonly got: string;
  readonly pass: boolean;
  readonly detail: string;
  /** Attempts made (a timeout is retried once; a reply never is). */
  readonly attempts: number;
}

export interface CheckOutcome {
  readonly kind: 'check';
  /** A case name or a named test (`zero-gap`, `double-ct`, `ownership`, `switchdev`, `preflight`). */
  readonly suite: string;
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

/** Lines the host prints as they are (packet counts, offload tables); never pass/fail. */
export interface InfoLine {
  readonly kind: 'info';
  readonly suite: string;
  readonly text: string;
}

export interface Timing {
  readonly kind: 'timing';
  readonly suite: string;
  readonly ms: number;
}

export type Outcome = ProbeOutcome | CheckOutcome | InfoLine | Timing;

export function probeLabel(r: ProbeOutcome): string {
  const where = `${r.suite}${r.step === null ? '' : ` step ${r.step}`} probe ${r.probe}`;
  return `${where}: ${r.from} -> ${r.to} ${r.protocol}/${r.port} ${r.family} on ${r.network}`;
}

export function failureLine(r: ProbeOutcome | CheckOutcome): string {
  if (r.kind === 'probe') return `FAIL ${probeLabel(r)}: expected ${r.expect}, got ${r.got}${r.detail ? `: ${r.detail}` : ''}`;
  return `FAIL ${r.suite}: ${r.name}${r.detail ? `: ${r.detail}` : ''}`;
}

export interface Tally {
  readonly probes: { passed: number; failed: number };
  readonly checks: { passed: number; failed: number };
}

export function tally(outcomes: readonly Outcome[]): Tally {
  const t = { probes: { passed: 0, failed: 0 }, checks: { passed: 0, failed: 0 } };
  for (const o of outcomes) {
    if (o.kind !== 'probe' && o.kind !== 'check') continue;
    const bucket = o.kind === 'probe' ? t.probes : t.checks;
    if (o.pass) bucket.passed++;
    else bucket.failed++;
  }
  return t;
}

/** The last line of a run, as `check` prints it: probes and named-test checks together. */
export function closingLine(t: Tally): string {
  return `${t.probes.passed + t.checks.passed} passed, ${t.probes.failed + t.checks.failed} failed`;
}

/** Reads results.jsonl; a torn last line (the VM died mid-write) is ignored. */
export function parseOutcomes(text: string): Outcome[] {
  const out: Outcome[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as Outcome);
    } catch {
      // partial line
    }
  }
  return out;
}
