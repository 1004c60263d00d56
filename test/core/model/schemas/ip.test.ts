import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { cidrStrictlyInside, parseCidr, parseIp } from '../../../../core/model/schemas/ip.js';

describe('parseIp', () => {
  const rows: [string, 4 | 6 | undefined, bigint?][] = [
    ['10.1.2.3', 4, 0x0a010203n],
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['1:2:3:4:5:6:7:8', 6, 0x00010002000300040005000600070008n],
    ['1:2:3:4:5:6:7::', 6, 0x00010002000300040005000600070000n],
    ['::ffff:10.0.0.1', 6, 0xffff0a000001n],
    ['FE80::ABCD', 6, 0xfe80000000000000000000000000abcdn],
    ['010.0.0.1', undefined], // leading zero: Go rejects it
    ['256.0.0.1', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    [' 1.2.3.4', undefined],
    ['fe80::1%eth0', undefined], // zone
    ['1::2::3', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1:2:3:4:5:6:7', undefined],
    ['12345::', undefined],
    ['1.2.3.4::', undefined],
    ['', undefined],
  ];
  for (const [text, family, value] of rows) {
    test(`${JSON.stringify(text)} → ${family ? `IPv${family}` : 'invalid'}`, () => {
      const ip = parseIp(text);
      assert.equal(ip?.family, family);
      if (value !== undefined) assert.equal(ip?.value, value);
    });
  }

  test('every address fast-check generates parses, with the family node:net reports', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        assert.equal(parseIp(text)?.family, isIP(text));
      }),
    );
  });

  test('whatever it accepts, node:net accepts with the same family', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/ '), maxLength: 45 }), (text) => {
        const ip = parseIp(text);
        if (ip !== undefined) assert.equal(isIP(text), ip.family);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseCidr and cidrStrictlyInside', () => {
  test('host bits are allowed and cleared', () => {
    assert.deepEqual(parseCidr('10.1.2.3/16'), { family: 4, network: 0x0a010000n, prefix: 16 });
    assert.deepEqual(parseCidr('2001:db8::1/32'), { family: 6, network: 0x20010db8n << 96n, prefix: 32 });
  });
  test('bad prefixes are rejected', () => {
    for (const t of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08', '::/129', '10.0.0.0', '10.0.0.0/8/8', 'x/8']) {
      assert.equal(parseCidr(t), undefined, t);
    }
    assert.ok(parseCidr('0.0.0.0/0'));
    assert.ok(parseCidr('::/128'));
  });
  test('strictly inside means same family, longer prefix, within', () => {
    const c = (t: string) => parseCidr(t)!;
    assert.equal(cidrStrictlyInside(c('10.1.0.0/24'), c('10.1.0.0/16')), true);
    assert.equal(cidrStrictlyInside(c('10.1.255.255/32'), c('10.1.0.0/16')), true);
    assert.equal(cidrStrictlyInside(c('10.1.0.0/16'), c('10.1.0.0/16')), false, 'equal is not strict');
    assert.equal(cidrStrictlyInside(c('10.2.0.0/24'), c('10.1.0.0/16')), false);
    assert.equal(cidrStrictlyInside(c('10.0.0.0/8'), c('10.1.0.0/16')), false);
    assert.equal(cidrStrictlyInside(c('::a01:0/120'), c('10.1.0.0/16')), false, 'other family');
  });
});
