import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TcFilter } from '../../../core/model/tc.js';
import { runHook, type HookRun } from '../../../core/tcmodel/classify.js';
import { newConntrackTable, skbOf } from '../../../core/tcmodel/conntrack.js';
import { describeModelError, type ModelError } from '../../../core/tcmodel/model-error.js';
import type { Frame, IpFrame } from '../../../core/tcmodel/packet.js';
import { describeHookRun } from '../../../core/tcmodel/trace-text.js';
import { ct, drop, filter, goto, pass } from './programs.js';

const syn: IpFrame = { encapsulation: 'untagged', ethertype: 'ip', src: '10.0.0.1', dst: '10.0.0.2', l4: 'tcp', srcPort: 40000, dstPort: 80, segment: 'opening' };
const arp: Frame = { encapsulation: 'untagged', ethertype: 'arp' };

function run(filters: readonly TcFilter[], frame: Frame = syn): HookRun {
  const r = runHook(filters, 'ingress', skbOf(frame), newConntrackTable());
  if (!r.ok) assert.fail(describeModelError(r.error));
  return r.value;
}

function runErr(filters: readonly TcFilter[], frame: Frame = syn): ModelError {
  const r = runHook(filters, 'ingress', skbOf(frame), newConntrackTable());
  assert.equal(r.ok, false, 'expected a model error');
  if (r.ok) throw new Error('unreachable');
  return r.error;
}

test('prefs run in ascending order whatever the list order', () => {
  const r = run([filter('ingress', 0, 20, 'ip', {}, pass), filter('ingress', 0, 10, 'ip', {}, drop)]);
  assert.equal(r.verdict, 'drop');
  assert.equal(r.path.length, 1);
});

test('a hook with no matching filter passes the frame (clsact default)', () => {
  assert.equal(run([filter('ingress', 0, 1, 'ipv6', {}, drop)]).verdict, 'pass');
  assert.equal(run([]).verdict, 'pass');
  assert.deepEqual(run([]).path, [{ kind: 'no-match', hook: 'ingress', chain: 0 }]);
});

test('filters of the other hook are not consulted', () => {
  assert.equal(run([filter('egress', 0, 1, 'all', {}, drop)]).verdict, 'pass');
});

test('goto restarts at the first pref of the target chain', () => {
  const r = run([
    filter('ingress', 0, 1, 'ip', {}, goto(7)),
    filter('ingress', 7, 5, 'ip', { ipProto: 'udp' }, pass),
    filter('ingress', 7, 9, 'all', {}, drop),
  ]);
  assert.equal(r.verdict, 'drop');
  assert.deepEqual(r.path.map((s) => (s.kind === 'filter' ? `${s.chain}/${s.pref}` : 'none')), ['0/1', '7/9']);
});

test('a goto into an empty chain falls off the end and passes', () => {
  const r = run([filter('ingress', 0, 1, 'ip', {}, goto(10001)), filter('ingress', 0, 2, 'all', {}, drop)]);
  assert.equal(r.verdict, 'pass');
  assert.equal(r.path.at(-1)?.kind, 'no-match');
});

test('a chain without a final drop lets unmatched traffic through', () => {
  const chain = [
    filter('ingress', 0, 1, 'ip', {}, goto(10000)),
    filter('ingress', 10000, 2, 'ip', { dstIp: '10.9.0.0/16' }, pass),
  ];
  assert.equal(run(chain).verdict, 'pass', 'nothing allows 10.0.0.2, yet it passes');
  assert.equal(run([...chain, filter('ingress', 10000, 9, 'all', {}, drop)]).verdict, 'drop');
});

test('actions after a goto are not run', () => {
  const r = run([filter('ingress', 0, 1, 'ip', {}, goto(3), drop), filter('ingress', 3, 1, 'ip', {}, pass)]);
  assert.equal(r.verdict, 'pass');
});

test('ct continues with the next action and its flags are visible to later chains', () => {
  const r = run([
    filter('ingress', 0, 1, 'ip', {}, ct(), goto(1)),
    filter('ingress', 1, 1, 'all', { ctState: '+trk+est' }, pass),
    filter('ingress', 1, 2, 'ip', { ctState: '+trk+new' }, drop),
  ]);
  assert.equal(r.verdict, 'drop');
  assert.deepEqual(describeHookRun(r), [
    'ingress chain 0 pref 1 protocol ip: ct zone 0 (+trk+new), goto chain 1',
    'ingress chain 1 pref 2 protocol ip ct_state=+trk+new: drop',
    '=> drop',
  ]);
});

test('an action list ending in ct (pipe) passes', () => {
  assert.equal(run([filter('ingress', 0, 1, 'ip', {}, ct()), filter('ingress', 0, 2, 'all', {}, drop)]).verdict, 'pass');
});

test('a ct action on an ARP frame drops it', () => {
  const r = run([filter('ingress', 0, 1, 'all', {}, ct(), pass)], arp);
  assert.equal(r.verdict, 'drop');
});

test('two matching filters in one pref with different actions are reported as ambiguous', () => {
  const e = runErr([
    filter('ingress', 0, 5, 'ip', { dstIp: '10.0.0.0/24' }, pass),
    filter('ingress', 0, 5, 'ip', { dstIp: '10.0.0.2/32' }, drop),
  ]);
  assert.equal(e.code, 'ambiguous-pref');
  assert.match(describeModelError(e), /chain 0 pref 5: one frame matches 2 filters/);
});

test('overlapping filters of one pref with the same actions are fine', () => {
  const r = run([
    filter('ingress', 0, 5, 'ip', { dstIp: '10.0.0.0/24' }, pass),
    filter('ingress', 0, 5, 'ip', { dstIp: '10.0.0.2/32' }, pass),
  ]);
  assert.equal(r.verdict, 'pass');
});

test('different actions in one pref are fine while only one filter matches', () => {
  const r = run([
    filter('ingress', 0, 5, 'ip', { dstIp: '10.0.0.0/24' }, pass),
    filter('ingress', 0, 5, 'ip', { dstIp: '10.0.1.0/24' }, drop),
  ]);
  assert.equal(r.verdict, 'pass');
});

test('a goto loop is an error, not a hang', () => {
  const e = runErr([filter('ingress', 0, 1, 'ip', {}, goto(1)), filter('ingress', 1, 1, 'ip', {}, goto(0))]);
  assert.equal(e.code, 'goto-loop');
});

test('an unparseable ct_state key is an invalid filter', () => {
  assert.equal(runErr([filter('ingress', 0, 1, 'ip', { ctState: '+trk+bogus' }, pass)]).code, 'invalid-filter');
  assert.equal(runErr([filter('ingress', 0, 1, 'ip', { ctState: 'trk' }, pass)]).code, 'invalid-filter');
});

test('filters of one pref that differ by indev are not ambiguous: only the port the frame came in through matches', () => {
  const perPort = [
    filter('ingress', 0, 5, 'ip', { indev: 'repA' }, drop),
    filter('ingress', 0, 5, 'ip', { indev: 'repB' }, pass),
  ];
  const at = (indev?: string) => runHook(perPort, 'ingress', skbOf(syn, indev), newConntrackTable());
  const a = at('repA');
  const b = at('repB');
  const elsewhere = at('uplink');
  assert.ok(a.ok && b.ok && elsewhere.ok);
  assert.deepEqual([a.value.verdict, b.value.verdict, elsewhere.value.verdict], ['drop', 'pass', 'pass']);
  assert.deepEqual(elsewhere.value.path, [{ kind: 'no-match', hook: 'ingress', chain: 0 }]);
  // without indev on one of them, a frame from repA matches both: different actions, one pref
  const clash = runHook([perPort[0]!, filter('ingress', 0, 5, 'ip', {}, pass)], 'ingress', skbOf(syn, 'repA'), newConntrackTable());
  assert.equal(!clash.ok && clash.error.code, 'ambiguous-pref');
});
