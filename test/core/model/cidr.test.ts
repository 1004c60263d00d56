import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canonicalCidr,
  compareNet,
  contains,
  formatIp,
  formatNet,
  halves,
  overlaps,
  parseCidr,
  parseIp,
  subtract,
  type Net,
} from '../../../core/model/cidr.js';

const net = (s: string): Net => {
  const n = parseCidr(s);
  assert.ok(n, `${s} should parse`);
  return n;
};
const fmt = (ns: readonly Net[]): string[] => ns.map(formatNet);

describe('parse and format', () => {
  const canonical: [string, string, string][] = [
    ['IPv4 CIDR', '10.17.0.0/16', '10.17.0.0/16'],
    ['IPv4 host bits are cleared', '10.17.3.4/16', '10.17.0.0/16'],
    ['a bare IPv4 address is a /32', '192.168.1.2', '192.168.1.2/32'],
    ['IPv4 /0', '1.2.3.4/0', '0.0.0.0/0'],
    ['IPv6 longest zero run compressed', '2001:db8:0:0:0:0:0:1/128', '2001:db8::1/128'],
    ['IPv6 uppercase input is lowercased', '2001:DB8::ABCD/128', '2001:db8::abcd/128'],
    ['IPv6 leading zeros of a group are dropped', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1/128'],
    ['IPv6 first of two equal zero runs is compressed', '2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'],
    ['IPv6 the longer zero run wins over an earlier shorter one', '2001:0:0:1:0:0:0:1/128', '2001:0:0:1::1/128'],
    ['IPv6 a single zero group is not compressed (RFC 5952 4.2.2)', '2001:db8:0:1:1:1:1:1/128', '2001:db8:0:1:1:1:1:1/128'],
    ['IPv6 all zeros', '::/0', '::/0'],
    ['IPv6 loopback', '::1', '::1/128'],
    ['IPv6 trailing zero run', 'fd00:1::/64', 'fd00:1::/64'],
    ['IPv6 host bits are cleared', 'fd00::1234/64', 'fd00::/64'],
    ['a bare IPv6 address is a /128', '2001::1', '2001::1/128'],
    ['IPv6 /112 keeps its network', '2001::1000:0/112', '2001::1000:0/112'],
    ['embedded IPv4 tail becomes hex groups', '::ffff:1.2.3.4', '::ffff:102:304/128'],
    ['embedded IPv4 tail in uppercase input', '::FFFF:10.0.0.1', '::ffff:a00:1/128'],
    ['IPv6 with seven groups and a trailing ::', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0/128'],
    ['embedded IPv4 tail with a prefix', '64:ff9b::10.0.0.0/120', '64:ff9b::a00:0/120'],
  ];
  for (const [what, input, want] of canonical) {
    test(`${what}: ${input} -> ${want}`, () => assert.equal(canonicalCidr(input), want));
  }

  const invalid: [string, string][] = [
    ['empty string', ''],
    ['IPv4 with three octets', '10.10.10'],
    ['IPv4 octet above 255', '10.0.0.256'],
    ['IPv4 prefix above 32', '10.0.0.0/33'],
    ['IPv6 prefix above 128', 'fd00::/129'],
    ['negative prefix', '10.0.0.0/-1'],
    ['empty prefix', '10.0.0.0/'],
    ['non-numeric prefix', '10.0.0.0/ab'],
    ['two slashes', '10.0.0.0/8/8'],
    ['garbage', 'bad/ip'],
    ['IPv6 with two ::', '2001::1::2'],
    ['IPv6 with nine groups', '1:2:3:4:5:6:7:8:9'],
    ['IPv6 with a zone', 'fe80::1%eth0'],
    ['IPv6 with a bad embedded IPv4', '::ffff:1.2.3.999'],
    ['whitespace around', ' 10.0.0.1'],
  ];
  for (const [what, input] of invalid) {
    test(`rejects ${what}: ${JSON.stringify(input)}`, () => assert.equal(parseCidr(input), undefined));
  }

  test('parseIp gives the family and the numeric address', () => {
    assert.deepEqual(parseIp('10.0.0.1'), { family: 4, addr: 0x0a000001n });
    assert.deepEqual(parseIp('::ffff:1.2.3.4'), { family: 6, addr: 0xffff01020304n });
    assert.deepEqual(parseIp('fd00::1'), { family: 6, addr: (0xfd00n << 112n) | 1n });
    assert.equal(parseIp('10.0.0.0/8'), undefined);
  });

  test('formatIp prints IPv4 dotted and IPv6 RFC 5952', () => {
    assert.equal(formatIp(4, 0xc0a80102n), '192.168.1.2');
    assert.equal(formatIp(6, 0n), '::');
    assert.equal(formatIp(6, (0x2001n << 112n) | (0xdb8n << 96n)), '2001:db8::');
    assert.equal(formatIp(6, 0x00010002000300040005000600070008n), '1:2:3:4:5:6:7:8');
  });
});

describe('contains and overlaps', () => {
  const rows: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.1.2.0/24', true],
    ['10.0.0.0/8', '10.0.0.0/8', true],
    ['10.1.2.0/24', '10.0.0.0/8', false],
    ['10.0.0.0/8', '11.0.0.0/24', false],
    ['0.0.0.0/0', '255.255.255.255/32', true],
    ['0.0.0.0/0', '::/128', false],
    ['::/0', '10.0.0.0/8', false],
    ['fd00::/64', 'fd00::1', true],
    ['fd00::/64', 'fd00:0:0:1::1', false],
  ];
  for (const [outer, inner, want] of rows) {
    test(`${outer} ${want ? 'contains' : 'does not contain'} ${inner}`, () => assert.equal(contains(net(outer), net(inner)), want));
  }

  test('overlap is symmetric and needs the same family', () => {
    assert.equal(overlaps(net('10.1.0.0/16'), net('10.0.0.0/8')), true);
    assert.equal(overlaps(net('10.0.0.0/8'), net('10.1.0.0/16')), true);
    assert.equal(overlaps(net('10.0.0.0/16'), net('10.1.0.0/16')), false);
    assert.equal(overlaps(net('0.0.0.0/0'), net('::/0')), false);
  });

  test('halves split a network into its two children', () => {
    assert.deepEqual(fmt(halves(net('10.0.0.0/24'))), ['10.0.0.0/25', '10.0.0.128/25']);
    assert.deepEqual(fmt(halves(net('::/0'))), ['::/1', '8000::/1']);
  });

  test('compareNet orders IPv4 before IPv6, then address, then prefix length', () => {
    const sorted = ['fd00::/8', '10.0.0.0/16', '10.0.0.0/8', '9.0.0.0/8'].map(net).sort(compareNet);
    assert.deepEqual(fmt(sorted), ['9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16', 'fd00::/8']);
  });
});

describe('subtract (ipBlock except)', () => {
  test('the upstream example 10.17.0.0/16 except 10.17.0.0/24 is eight disjoint prefixes', () => {
    assert.deepEqual(fmt(subtract(net('10.17.0.0/16'), [net('10.17.0.0/24')])), [
      '10.17.1.0/24',
      '10.17.2.0/23',
      '10.17.4.0/22',
      '10.17.8.0/21',
      '10.17.16.0/20',
      '10.17.32.0/19',
      '10.17.64.0/18',
      '10.17.128.0/17',
    ]);
  });

  test('an except equal to the cidr leaves nothing', () => {
    assert.deepEqual(subtract(net('10.0.0.0/24'), [net('10.0.0.0/24')]), []);
  });

  test('an except wider than the cidr leaves nothing', () => {
    assert.deepEqual(subtract(net('10.0.0.0/24'), [net('10.0.0.0/8')]), []);
  });

  test('an except outside the cidr leaves it unchanged (upstream bug 2: it still dropped)', () => {
    assert.deepEqual(fmt(subtract(net('10.0.0.0/24'), [net('10.1.0.0/24')])), ['10.0.0.0/24']);
  });

  test('an except of the other family leaves the cidr unchanged', () => {
    assert.deepEqual(fmt(subtract(net('10.0.0.0/24'), [net('::/0')])), ['10.0.0.0/24']);
  });

  test('several except ranges: the result covers exactly the addresses outside every hole', () => {
    const outer = net('10.0.0.0/24');
    const holes = [net('10.0.0.0/26'), net('10.0.0.200/30'), net('10.0.0.77/32')];
    const rest = subtract(outer, holes);
    for (let i = 0n; i < 256n; i++) {
      const a: Net = { family: 4, addr: outer.addr + i, len: 32 };
      const inHole = holes.some((h) => contains(h, a));
      const inRest = rest.filter((r) => contains(r, a)).length;
      assert.equal(inRest, inHole ? 0 : 1, `10.0.0.${i}`);
    }
  });

  test('IPv6 except: fd00::/64 minus fd00::/65 is fd00::8000:0:0:0/65', () => {
    assert.deepEqual(fmt(subtract(net('fd00::/64'), [net('fd00::/65')])), ['fd00::8000:0:0:0/65']);
  });
});
