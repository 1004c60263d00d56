// The Interner shares equal frozen values between cached objects, never a value its JSON
// text cannot tell apart, and starts over when a table is full (no unbounded growth).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compactJsonText } from '../../core/watch/compact-json.js';
import { Interner } from '../../core/watch/intern.js';

test('an equal value is the first copy, deep-frozen; a different one is its own', () => {
  const i = new Interner();
  const a = i.value([{ name: 'main', ports: [{ containerPort: 80, protocol: 'TCP' }] }]);
  const b = i.value([{ name: 'main', ports: [{ containerPort: 80, protocol: 'TCP' }] }]);
  const c = i.value([{ name: 'main', ports: [{ containerPort: 81, protocol: 'TCP' }] }]);
  assert.equal(b, a);
  assert.notEqual(c, a);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a[0]) && Object.isFrozen(a[0]!.ports[0]));
});

test('values JSON cannot tell apart are never shared', () => {
  const i = new Interner();
  class Port {
    containerPort = 80;
  }
  const cases: unknown[] = [{ x: undefined }, [Number.NaN], [Infinity], { p: -0 }, [new Port()], { d: new Date(0) }, [1, , 3]];
  for (const v of cases) assert.equal(i.value(v), v, `${JSON.stringify(v)} comes back as it is`);
  assert.deepEqual(i.size, { strings: 0, values: 0 }, 'none of them was kept');
  for (const v of cases) assert.equal(i.value(structuredClone(v)) === v, false, 'nor handed out for an equal-looking value');
});

test('a full table starts over: it never holds more than its limit', () => {
  const i = new Interner(3);
  for (let n = 0; n < 10; n++) {
    i.string(`s-${n}`);
    i.value({ n });
    assert.ok(i.size.strings <= 3 && i.size.values <= 3);
  }
  const first = i.value({ n: 100 });
  assert.equal(i.value({ n: 100 }), first, 'sharing still works after starting over');
});

test('strings: equal strings give an equal string, other values pass through', () => {
  const i = new Interner();
  assert.equal(i.string('a-namespace'), 'a-namespace');
  assert.equal(i.string(7), 7);
  assert.equal(i.string(undefined), undefined);
  const long = 'x'.repeat(500);
  assert.equal(i.string(long), long);
  assert.deepEqual(i.size, { strings: 1, values: 0 }, 'only the short string is kept');
});

test('compactJsonText: indented JSON parses to the same value; anything else is returned as it is', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const indented = JSON.stringify(v, null, 4);
      const compact = compactJsonText(indented);
      assert.deepStrictEqual(JSON.parse(compact), JSON.parse(indented));
      assert.ok(compact.length <= indented.length);
    }),
    { numRuns: 300 },
  );
  const multus = JSON.stringify([{ name: 'default/net1', interface: 'net1', ips: ['10.0.0.2'], mac: '02:00:00:00:00:01', dns: {} }], null, 4);
  assert.equal(compactJsonText(multus), '[{"name":"default/net1","interface":"net1","ips":["10.0.0.2"],"mac":"02:00:00:00:00:01","dns":{}}]');
  for (const kept of ['[{"name":"a"}]', '[\n{"name": 1e999}\n]', '[\n-0\n]', '{"broken": \n', '[ {"name": "no line break"} ]']) assert.equal(compactJsonText(kept), kept);
});
