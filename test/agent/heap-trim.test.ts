// HeapTrim: one collection after a large pass, at most once per interval, never for small passes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { HeapTrim } from '../../core/agent/heap-trim.js';
import type { PassResult } from '../../core/agent/reconciler.js';

const pass = (full: boolean, ms: number): PassResult => ({ full, ms }) as PassResult;
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

test('a full pass or a long one triggers one collection after the pass; small passes and passes within the interval do not', async () => {
  let now = 0;
  let calls = 0;
  const trim = new HeapTrim(() => void (calls += 0.5), // two collections per trim
    pino({ level: 'silent' }), { largePassMs: 1000, minIntervalMs: 60_000, now: () => now });
  trim.passDone(pass(false, 30));
  await tick();
  assert.equal(calls, 0, 'a small incremental pass');
  trim.passDone(pass(true, 30));
  assert.equal(calls, 0, 'not inside the pass: after it');
  await tick();
  assert.equal(calls, 1, 'a full pass');
  now += 10_000;
  trim.passDone(pass(false, 5000));
  await tick();
  assert.equal(calls, 1, 'within the interval');
  now += 60_000;
  trim.passDone(pass(false, 5000));
  await tick();
  assert.equal(calls, 2, 'a long pass after the interval');
});

test('without --expose-gc there is no trim', () => {
  const had = (globalThis as { gc?: unknown }).gc;
  try {
    delete (globalThis as { gc?: unknown }).gc;
    assert.equal(HeapTrim.fromGlobal(pino({ level: 'silent' })), undefined);
    (globalThis as { gc?: unknown }).gc = () => undefined;
    assert.ok(HeapTrim.fromGlobal(pino({ level: 'silent' })) instanceof HeapTrim);
  } finally {
    (globalThis as { gc?: unknown }).gc = had;
    if (had === undefined) delete (globalThis as { gc?: unknown }).gc;
  }
});
