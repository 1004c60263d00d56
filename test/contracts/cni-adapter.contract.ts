// Contract suite every CniAdapter must pass (built-ins and third parties alike). Call
// `cniAdapterContract(label, subject)` from a test file; it registers its own tests.
//
// Invariants checked:
//   - handles() is pure and stable: same answer for equal networks, no mutation, no throw;
//   - attachment() returns ok for the declared valid cases (naming this adapter and the
//     network) and, for arbitrary network-status junk, returns errors as values, never throws;
//   - resolveNetdevs() never throws and never rejects, whatever the attachment and whatever
//     the Sysfs port does (empty tree, garbage, exceptions); ok means at least one netdev.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { AdapterContext, CniAdapter } from '../../core/api/cni-adapter.js';
import { describeError } from '../../core/api/errors.js';
import type { Sysfs } from '../../core/api/ports.js';
import type { Result } from '../../core/api/result.js';
import type { Attachment, NetworkAttachment, NetworkStatusEntry } from '../../core/model/attachment.js';
import type { Pod } from '../../core/model/k8s.js';

export interface AdapterCase {
  readonly pod: Pod;
  readonly net: NetworkAttachment;
  readonly status: NetworkStatusEntry;
  readonly ctx: AdapterContext;
}

export interface CniAdapterContractSubject {
  /** A fresh adapter reading the given port. */
  readonly create: (sysfs: Sysfs) => CniAdapter;
  readonly handled: readonly NetworkAttachment[];
  readonly unhandled: readonly NetworkAttachment[];
  /** Well-formed cases: attachment() must accept each. */
  readonly valid: readonly AdapterCase[];
  /** A port on which every valid case resolves (to check ok results), if the caller has one. */
  readonly resolvingSysfs?: Sysfs;
  readonly runs?: number;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    if (v instanceof Map) for (const x of v.values()) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const clone = <T>(v: T): T => structuredClone(v);

function assertResult(r: unknown, what: string): asserts r is Result<unknown> {
  assert.ok(typeof r === 'object' && r !== null, `${what} returned ${String(r)}, not a Result`);
  const res = r as { ok?: unknown; value?: unknown; error?: { code?: unknown } };
  assert.equal(typeof res.ok, 'boolean', `${what} returned no ok flag`);
  if (res.ok === false) {
    assert.equal(typeof res.error?.code, 'string', `${what} failed without an error code`);
    assert.equal(typeof describeError(res.error as never), 'string');
  }
}

function assertNetdevs(r: Result<readonly { name: string }[]>, what: string): void {
  if (!r.ok) return;
  assert.ok(Array.isArray(r.value) && r.value.length > 0, `${what} is ok but names no netdev`);
  for (const d of r.value) assert.ok(typeof d.name === 'string' && d.name !== '', `${what} returned a netdev without a name`);
}

/** Ports that misbehave in the ways a host can: nothing there, junk, or exceptions. */
const hostilePorts: [string, Sysfs][] = [
  ['an empty sysfs', { readFile: async () => undefined, readlink: async () => undefined, readdir: async () => [] }],
  ['a sysfs full of junk', { readFile: async () => '\0junk\n', readlink: async () => '../../..', readdir: async () => ['..', 'virtfn0', 'x/y', ''] }],
  ['a sysfs that rejects', { readFile: () => Promise.reject(new Error('EIO')), readlink: () => Promise.reject(new Error('EIO')), readdir: () => Promise.reject(new Error('EIO')) }],
  ['a sysfs that throws synchronously', { readFile: () => { throw new Error('EACCES'); }, readlink: () => { throw new Error('EACCES'); }, readdir: () => { throw new Error('EACCES'); } }],
];

const word = fc.oneof(fc.string(), fc.constantFrom('', 'net1', 'net2', 'bond0', '../../etc', '0000:03:00.2', 'eth0', 'pci', '/'));
const junk = fc.oneof(word, fc.integer(), fc.constant(null), fc.boolean(), fc.array(word, { maxLength: 3 }), fc.dictionary(word, word, { maxKeys: 2 }));
const pciArb = fc.oneof(junk, fc.record({ 'pci-address': fc.oneof(word, junk), 'representor-device': fc.oneof(word, junk) }, { requiredKeys: [] }));
const deviceInfoArb = fc.oneof(junk, fc.record({ type: fc.oneof(fc.constant('pci'), junk), pci: pciArb }, { requiredKeys: [] }));

function statusArb(names: readonly string[]): fc.Arbitrary<NetworkStatusEntry> {
  const name = names.length > 0 ? fc.oneof(fc.constantFrom(...names), word) : word;
  return fc.record(
    { name, interface: fc.oneof(word, junk), ips: fc.oneof(fc.array(word, { maxLength: 3 }), junk), mac: junk, default: junk, 'device-info': deviceInfoArb },
    { requiredKeys: [] },
  ) as unknown as fc.Arbitrary<NetworkStatusEntry>;
}

const attachmentArb: fc.Arbitrary<Attachment> = fc.letrec<{ a: Attachment }>((tie) => ({
  a: fc.record(
    {
      adapter: word,
      network: word,
      interface: word,
      ips: fc.array(word, { maxLength: 2 }),
      deviceInfo: deviceInfoArb,
      members: fc.oneof({ depthSize: 'small' }, junk, fc.array(tie('a'), { maxLength: 2 })),
    },
    { requiredKeys: ['adapter', 'network', 'interface', 'ips'] },
  ) as unknown as fc.Arbitrary<Attachment>,
})).a;

export function cniAdapterContract(label: string, s: CniAdapterContractSubject): void {
  const runs = s.runs ?? 200;
  const idle: Sysfs = hostilePorts[0]![1];

  describe(`CniAdapter contract: ${label}`, () => {
    test('name is a non-empty string that does not change', () => {
      const a = s.create(idle);
      assert.ok(typeof a.name === 'string' && a.name !== '');
      assert.equal(a.name, a.name);
      assert.equal(s.create(idle).name, a.name);
    });

    test('handles() is true for the declared networks, false for the others, stable, and does not mutate', () => {
      const a = s.create(idle);
      for (const [nets, expected] of [[s.handled, true], [s.unhandled, false]] as const) {
        for (const net of nets) {
          const frozen = deepFreeze(clone(net));
          assert.equal(a.handles(frozen), expected, `handles(${net.key})`);
          assert.equal(a.handles(frozen), expected, `handles(${net.key}) a second time`);
          assert.equal(a.handles(clone(net)), expected, `handles(copy of ${net.key})`);
          assert.equal(s.create(idle).handles(frozen), expected, `another instance: handles(${net.key})`);
        }
      }
    });

    test('handles() of arbitrary networks is a boolean and the same for an equal copy', () => {
      const a = s.create(idle);
      const netArb = fc.record({
        key: word, namespace: word, name: word, cniType: fc.oneof(word, fc.constantFrom(...[...s.handled, ...s.unhandled].map((n) => n.cniType))),
        config: fc.dictionary(word, junk, { maxKeys: 4 }),
      });
      fc.assert(fc.property(netArb, (net) => {
        const first = a.handles(deepFreeze(clone(net)));
        assert.equal(typeof first, 'boolean');
        assert.equal(a.handles(clone(net)), first);
      }), { numRuns: runs });
    });

    test('attachment() accepts each valid case, names this adapter and the network, and is deterministic', () => {
      assert.ok(s.valid.length > 0, 'the subject must declare at least one valid case');
      const a = s.create(idle);
      for (const c of s.valid) {
        const frozen = deepFreeze({ pod: clone(c.pod), net: clone(c.net), status: clone(c.status), ctx: { statuses: clone(c.ctx.statuses), networks: new Map(c.ctx.networks) } });
        const r = a.attachment(frozen.pod, frozen.net, frozen.status, frozen.ctx);
        assert.ok(r.ok, `valid case ${c.net.key} ${c.status.interface}: ${r.ok ? '' : describeError(r.error)}`);
        assert.equal(r.value.adapter, a.name);
        assert.equal(r.value.network, c.net.key);
        assert.ok(r.value.interface !== '');
        assert.ok(Array.isArray(r.value.ips));
        assert.deepEqual(a.attachment(frozen.pod, frozen.net, frozen.status, frozen.ctx), r, 'a second call gives the same attachment');
      }
    });

    test('attachment() of arbitrary network-status entries returns a Result, never throws or mutates', () => {
      const a = s.create(idle);
      const base = s.valid[0]!;
      const names = [...base.ctx.networks.keys()];
      fc.assert(fc.property(statusArb(names), fc.array(statusArb(names), { maxLength: 4 }), fc.boolean(), (status, others, keepValid) => {
        const statuses = keepValid ? [...base.ctx.statuses, ...others, status] : [...others, status];
        const ctx = deepFreeze({ statuses: clone(statuses), networks: new Map(base.ctx.networks) });
        for (const net of s.handled) {
          const r = a.attachment(deepFreeze(clone(base.pod)), deepFreeze(clone(net)), deepFreeze(clone(status)), ctx);
          assertResult(r, 'attachment()');
          if (r.ok) assert.equal(r.value.adapter, a.name);
        }
      }), { numRuns: runs });
    });

    test('resolveNetdevs() of the valid attachments returns a Result on hostile ports, never throws', async () => {
      for (const [what, port] of hostilePorts) {
        const a = s.create(port);
        for (const c of s.valid) {
          const att = a.attachment(c.pod, c.net, c.status, c.ctx);
          assert.ok(att.ok);
          const r = await a.resolveNetdevs(deepFreeze(clone(att.value)));
          assertResult(r, `resolveNetdevs() on ${what}`);
          assertNetdevs(r, `resolveNetdevs() on ${what}`);
        }
      }
    });

    test('resolveNetdevs() of arbitrary attachments never throws or rejects', async () => {
      for (const [what, port] of hostilePorts) {
        const a = s.create(port);
        await fc.assert(fc.asyncProperty(attachmentArb, async (att) => {
          const r = await a.resolveNetdevs(deepFreeze(att));
          assertResult(r, `resolveNetdevs() on ${what}`);
          assertNetdevs(r, `resolveNetdevs() on ${what}`);
        }), { numRuns: Math.ceil(runs / hostilePorts.length) });
      }
    });

    if (s.resolvingSysfs !== undefined) {
      const port = s.resolvingSysfs;
      test('resolveNetdevs() of the valid attachments on a working host is ok with at least one netdev', async () => {
        const a = s.create(port);
        for (const c of s.valid) {
          const att = a.attachment(c.pod, c.net, c.status, c.ctx);
          assert.ok(att.ok);
          const r = await a.resolveNetdevs(att.value);
          assert.ok(r.ok, r.ok ? '' : describeError(r.error));
          assertNetdevs(r, 'resolveNetdevs()');
        }
      });
    }
  });
}
