// What every part of the guest run shares: the probe engine, the agent wiring, the results
// file and the timeouts.
import { appendFileSync } from 'node:fs';
import type { Outcome } from '../results.js';
import type { Engine } from './engine.js';
import type { Wiring } from './lab-agent.js';

export interface ProbeTimeouts {
  readonly TCP: number;
  readonly UDP: number;
  readonly SCTP: number;
}

export class Ctx {
  constructor(
    readonly engine: Engine,
    readonly wiring: Wiring,
    readonly tcDriver: string,
    readonly repo: string,
    private readonly resultsFile: string,
    readonly timeouts: ProbeTimeouts,
  ) {}

  /** `--layout`: the agent's wiring says it. */
  get layout(): 'per-port' | 'shared-block' {
    return this.wiring.cfg.layout;
  }

  /** The topology's uplink (shared-block layout), or undefined. */
  get uplink(): string | undefined {
    return this.wiring.cfg.layout === 'shared-block' ? this.wiring.cfg.uplink : undefined;
  }

  emit(o: Outcome): void {
    appendFileSync(this.resultsFile, `${JSON.stringify(o)}\n`);
  }

  check(suite: string, name: string, pass: boolean, detail = ''): boolean {
    this.emit({ kind: 'check', suite, name, pass, detail });
    this.say(`  ${pass ? 'ok  ' : 'FAIL'} ${name}${detail && !pass ? `: ${detail}` : ''}`);
    return pass;
  }

  info(suite: string, text: string): void {
    this.emit({ kind: 'info', suite, text });
    this.say(`  ${text}`);
  }

  say(line: string): void {
    process.stdout.write(`${line}\n`);
  }
}
