// The cluster from files (`--manifests DIR|FILE ...`): the same store events as the API,
// offline. The files are loaded once at start; with `watch`, a change to any of them
// (fs.watch, debounced) reloads everything and the store announces only the objects that differ.
//
// A file that cannot be parsed at start stops the agent; during a reload it is reported and
// the previous state is kept (an editor saving half a file must not remove anyone's rules).
// Objects that are invalid but usable the way the API would deliver them (an invalid policy
// fails closed) are reported and loaded.
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { describeError, type AgentError } from '../api/errors.js';
import type { Logger } from '../api/ports.js';
import { err, ok, type Result } from '../api/result.js';
import { loadManifests } from '../source/manifest-files.js';
import type { ClusterSource } from './source.js';
import type { ClusterStore } from './store.js';

export interface ManifestSourceOptions {
  readonly watch: boolean;
  readonly debounceMs: number;
}

const fatal = (e: AgentError): boolean => e.code === 'file-invalid';

export class ManifestSource implements ClusterSource {
  private readonly log: Logger;
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly stats = { reloads: 0, rejected: 0 };

  constructor(
    private readonly paths: readonly string[],
    private readonly store: ClusterStore,
    log: Logger,
    private readonly opts: ManifestSourceOptions = { watch: true, debounceMs: 100 },
  ) {
    this.log = log.child({ component: 'manifest-source' });
  }

  async start(): Promise<Result<void>> {
    const { cluster, errors } = await loadManifests(this.paths);
    const bad = errors.filter(fatal);
    if (bad.length > 0) return err(bad[0]!);
    for (const e of errors) this.log.warn({ error: describeError(e) }, 'manifest object invalid');
    this.store.replace(cluster);
    if (this.opts.watch) await this.watch();
    return ok(undefined);
  }

  whenSynced(): Promise<void> {
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.loading;
  }

  /** Reloads now (tests; also what a file change triggers after the debounce). */
  reload(): Promise<void> {
    this.loading = this.loading.then(() => this.doReload());
    return this.loading;
  }

  private async watch(): Promise<void> {
    for (const p of this.paths) {
      const isDir = (await stat(p)).isDirectory();
      const w = fsWatch(p, { recursive: isDir, persistent: true }, (_event, file) => {
        // Hidden files are editor droppings (.swp) or ConfigMap plumbing (..data): ignored by the loader too.
        if (typeof file === 'string' && file.split('/').some((s) => s.startsWith('.') && !s.startsWith('..data'))) return;
        this.changed();
      });
      w.on('error', (e) => this.log.warn({ path: p, error: e.message }, 'cannot watch manifests'));
      this.watchers.push(w);
    }
  }

  private changed(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.opts.debounceMs);
  }

  private async doReload(): Promise<void> {
    if (this.stopped) return;
    const { cluster, errors } = await loadManifests(this.paths);
    const bad = errors.filter(fatal);
    if (bad.length > 0) {
      this.stats.rejected++;
      for (const e of bad) this.log.error({ error: describeError(e) }, 'manifests not reloaded; previous objects kept');
      return;
    }
    for (const e of errors) this.log.warn({ error: describeError(e) }, 'manifest object invalid');
    const changes = this.store.replace(cluster);
    this.stats.reloads++;
    this.log.info({ changes }, 'manifests reloaded');
  }
}
