// CPU profiles of one phase of a benchmark (node --cpu-prof covers the whole process,
// generation included): the inspector's profiler, started and stopped around the phase,
// written as `<dir>/<name>.cpuprofile` (open in Chrome DevTools, or bench/lib/profile-top.ts).
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class PhaseProfiler {
  private session: Session | undefined;

  constructor(private readonly dir: string | undefined) {}

  async start(): Promise<void> {
    if (!this.dir) return;
    this.session = new Session();
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.session.post('Profiler.start');
  }

  async stop(name: string): Promise<string | undefined> {
    if (!this.dir || !this.session) return undefined;
    const { profile } = await this.session.post('Profiler.stop');
    this.session.disconnect();
    this.session = undefined;
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${name}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    return file;
  }
}
