import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, formatIp, parseCidr, parseIp, solicitedNodeAddress } from '../../../core/tcmodel/ip.js';

test('IPv4 and IPv6 text parse to their numeric value', () => {
  assert.deepEqual(parseIp('10.0.0.1'), { family: 'ipv4', value: 0x0a000001n });
  assert.deepEqual(parseIp('::1'), { family: 'ipv6', value: 1n });
  assert.deepEqual(parseIp('fd00::'), { family: 'ipv6', value: 0xfd00n << 112n });
  assert.deepEqual(parseIp('::ffff:10.0.0.1'), { family: 'ipv6', value: (0xffffn << 32n) | 0x0a000001n });
  assert.equal(parseIp('FD00:0:0:0:0:0:0:1')?.value, parseIp('fd00::1')?.value);
});

test('malformed addresses are rejected', () => {
  for (const bad of ['10.0.0', '10.0.0.256', '1.2.3.4.5', 'fd00:::1', '1::2::3', 'fd00:1:2:3:4:5:6:7:8', 'g::1', '', '10.0.0.1 ']) {
    assert.equal(parseIp(bad), null, bad);
  }
});

test('a CIDR clears host bits and rejects a too-long prefix', () => {
  assert.deepEqual(parseCidr('10.1.2.3/16'), { family: 'ipv4', network: 0x0a010000n, prefix: 16 });
  assert.equal(parseCidr('10.0.0.0/33'), null);
  assert.equal(parseCidr('fd00::/129'), null);
  assert.equal(parseCidr('10.0.0.1')?.prefix, 32);
});

test('CIDR containment is exact at the edges, in both families', () => {
  assert.equal(cidrContains('10.0.0.0/24', '10.0.0.0'), true);
  assert.equal(cidrContains('10.0.0.0/24', '10.0.0.255'), true);
  assert.equal(cidrContains('10.0.0.0/24', '10.0.1.0'), false);
  assert.equal(cidrContains('10.0.0.0/24', '9.255.255.255'), false);
  assert.equal(cidrContains('0.0.0.0/0', '255.255.255.255'), true);
  assert.equal(cidrContains('fd00::/64', 'fd00::ffff:ffff:ffff:ffff'), true);
  assert.equal(cidrContains('fd00::/64', 'fd00:0:0:1::'), false);
  assert.equal(cidrContains('::/0', 'ffff::1'), true);
});

test('a prefix never contains an address of the other family', () => {
  assert.equal(cidrContains('0.0.0.0/0', '::1'), false);
  assert.equal(cidrContains('::/0', '10.0.0.1'), false);
  assert.equal(cidrContains('10.0.0.0/24', '::ffff:10.0.0.1'), false);
});

test('the solicited-node address keeps the low 24 bits of the target', () => {
  const target = parseIp('fd00::12:3456');
  assert.ok(target);
  assert.equal(formatIp(solicitedNodeAddress(target)), 'ff02:0:0:0:0:1:ff12:3456');
  assert.equal(formatIp({ family: 'ipv4', value: 0x0a000001n }), '10.0.0.1');
});
