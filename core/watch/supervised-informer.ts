// One client-node ListWatch (list + watch + 410 relist, all client-node's own code), kept
// alive. client-node 1.4 leaves four gaps (typescript-stack.md §1), closed here:
//
//   error (list fails, watch 500, network)  ListWatch stops     → restart, capped exponential backoff
//   watch silent (half-open TCP)            ListWatch waits      → watchdog: restart after watchdogMs
//   list hangs                              ListWatch waits      → list timeout → error → restart
//   watch closed at once, again and again   ListWatch re-watches → the close is delayed with backoff
//
// ListWatch talks to a `Watch` we hand it. Ours wraps client-node's Watch: it trims every
// object before ListWatch caches it (memory), asks for bookmarks, records activity for the
// watchdog, and gives each request a generation. A restart bumps the generation, so a
// superseded request's late `done` (the AbortError of our own abort) never reaches ListWatch,
// where it would abort the new request.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../api/ports.js';
import { withTimeout } from './abortable.js';
import { describeApiError, isAbort } from './api-error.js';
import { backoffDelay, type Backoff } from './backoff.js';
import type { Kind } from './kinds.js';

export interface InformerTiming {
  readonly backoff: Backoff;
  /** Restart a watch that has delivered nothing (no event, no bookmark) for this long. */
  readonly watchdogMs: number;
  readonly listTimeoutMs: number;
  /** A watch that ends normally sooner than this, with no event, counts as a failure. */
  readonly shortWatchMs: number;
}

export const DEFAULT_INFORMER_TIMING: InformerTiming = {
  backoff: { initialMs: 500, maxMs: 30_000 },
  watchdogMs: 5 * 60_000,
  listTimeoutMs: 60_000,
  shortWatchMs: 1_000,
};

export interface InformerHandlers<T> {
  upsert(obj: T): void;
  remove(obj: T): void;
}

/**
 * One page of the list (`limit`/`continue`, as client-go's informers page). The signal aborts
 * a list that takes longer than the list timeout. `cont` is the token of the previous page.
 */
export type ListFn<T extends KubernetesObject> = (signal: AbortSignal, cont: string | undefined) => Promise<KubernetesListObject<T>>;

/** Items per list page: each page is trimmed before the next arrives, so the peak stays low. */
export const LIST_PAGE_SIZE = 500;

/** The continue token of a page: typed lists call it `_continue`, raw JSON `continue`. */
function continueOf(list: KubernetesListObject<KubernetesObject>): string | undefined {
  const m = list.metadata as { _continue?: string; continue?: string } | undefined;
  const c = m?._continue ?? m?.continue;
  return c ? c : undefined;
}

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type DoneCallback = (err: unknown) => void;
interface WatchLike {
  watch(path: string, query: Record<string, unknown>, cb: WatchCallback, done: DoneCallback): Promise<AbortController>;
}

export interface InformerStats {
  restarts: number;
  lists: number;
  watches: number;
  errors: number;
}

export class SupervisedInformer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private readonly log: Logger;
  private gen = 0;
  private stopped = true;
  private attempt = 0;
  private shortStreak = 0;
  private watching = false;
  private lastActivity = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private isSynced = false;
  private readonly syncWaiters: (() => void)[] = [];
  readonly stats: InformerStats = { restarts: 0, lists: 0, watches: 0, errors: 0 };

  constructor(
    readonly kind: Kind,
    path: string,
    kc: KubeConfig,
    listFn: ListFn<T>,
    private readonly trim: (raw: unknown) => T,
    handlers: InformerHandlers<T>,
    private readonly timing: InformerTiming,
    log: Logger,
    realWatch: WatchLike = new Watch(kc) as unknown as WatchLike,
  ) {
    this.log = log.child({ component: 'informer', kind });
    const guarded: WatchLike = { watch: (p, q, cb, done) => this.guardedWatch(realWatch, p, q, cb, done) };
    this.lw = new ListWatch<T>(path, guarded as unknown as Watch, () => this.list(listFn), false);
    this.lw.on('add', (o) => handlers.upsert(o));
    this.lw.on('update', (o) => handlers.upsert(o));
    this.lw.on('delete', (o) => handlers.remove(o));
    this.lw.on('error', (e: unknown) => this.onError(e));
  }

  get synced(): boolean {
    return this.isSynced;
  }

  /** Resolves once the first list has been delivered. */
  whenSynced(): Promise<void> {
    return this.isSynced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = Math.max(20, Math.floor(this.timing.watchdogMs / 4));
    this.watchdog = setInterval(() => this.checkSilence(), tick);
    this.watchdog.unref();
    void this.lw.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.gen++;
    clearTimeout(this.restartTimer);
    clearInterval(this.watchdog);
    await this.lw.stop();
  }

  private async list(listFn: ListFn<T>): Promise<KubernetesListObject<T>> {
    this.stats.lists++;
    this.lastActivity = Date.now();
    const items: T[] = [];
    let first: KubernetesListObject<T> | undefined;
    let cont: string | undefined;
    do {
      const page = await withTimeout('list', this.timing.listTimeoutMs, (signal) => listFn(signal, cont));
      first ??= page;
      for (const o of page.items) items.push(this.trim(o));
      cont = continueOf(page);
      this.lastActivity = Date.now();
    } while (cont !== undefined);
    // Every page comes from one consistent snapshot; its version is the first page's.
    this.log.debug({ items: items.length, resourceVersion: first.metadata?.resourceVersion }, 'listed');
    return { ...first, items };
  }

  private async guardedWatch(real: WatchLike, path: string, query: Record<string, unknown>, cb: WatchCallback, done: DoneCallback): Promise<AbortController> {
    // ListWatch calls watch() right after it has delivered a list: the cache is complete.
    this.markSynced();
    const gen = ++this.gen;
    const current = (): boolean => gen === this.gen && !this.stopped;
    if (!current()) return new AbortController();
    this.stats.watches++;
    this.watching = true;
    const started = Date.now();
    this.lastActivity = started;
    let events = 0;
    let failed = false;
    const controller = await real.watch(
      path,
      { ...query, allowWatchBookmarks: true },
      (phase, obj, raw) => {
        if (!current()) return;
        this.lastActivity = Date.now();
        events++;
        this.attempt = 0;
        if (phase === 'ERROR') this.log.info({ status: (obj as { code?: unknown } | null)?.code }, 'watch error event; relisting when the stream ends');
        const isObject = phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED';
        cb(phase, isObject ? this.trim(obj) : obj, raw);
      },
      (err) => {
        if (!current()) return; // superseded by a restart or stop: ListWatch must not hear of it
        this.watching = false;
        if (err) failed = true;
        if (!err && events === 0 && Date.now() - started < this.timing.shortWatchMs) {
          // Closed at once with nothing delivered: ListWatch would re-watch immediately, forever.
          const delay = backoffDelay(this.timing.backoff, this.shortStreak++, Math.random());
          this.log.warn({ delayMs: delay }, 'watch closed immediately; re-watching after a delay');
          setTimeout(() => current() && done(null), delay).unref();
          return;
        }
        if (!err) {
          this.shortStreak = 0;
          this.log.debug('watch ended; resuming');
        }
        done(err);
      },
    );
    if (!current()) controller.abort();
    else if (!failed) this.attempt = 0; // the server answered 200
    return controller;
  }

  private markSynced(): void {
    if (this.isSynced) return;
    this.isSynced = true;
    this.log.info('initial list synced');
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private onError(e: unknown): void {
    if (this.stopped || isAbort(e)) return;
    this.stats.errors++;
    const delay = backoffDelay(this.timing.backoff, this.attempt++, Math.random());
    this.log.warn({ error: describeApiError(e), delayMs: delay, attempt: this.attempt }, 'list/watch failed; restarting');
    this.restart(delay);
  }

  private checkSilence(): void {
    if (this.stopped || !this.watching) return;
    const silent = Date.now() - this.lastActivity;
    if (silent < this.timing.watchdogMs) return;
    this.log.warn({ silentMs: silent }, 'watch silent; restarting it');
    this.restart(0);
  }

  private restart(delayMs: number): void {
    if (this.stopped) return;
    this.gen++; // whatever the current request still does is ignored from now on
    this.watching = false;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.stats.restarts++;
      void this.lw
        .stop()
        .then(() => {
          if (this.stopped) return;
          this.lastActivity = Date.now();
          return this.lw.start();
        })
        .catch((e: unknown) => this.onError(e));
    }, delayMs);
  }
}
