// The attribute codec: layout, nesting, alignment, and clear errors on malformed input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attrMap, getBe16, getString, getU16, getU32, getU8, MalformedMessage, NlWriter, readAttrs } from '../../../drivers/tc-netlink/attr.js';

test('a u8 attribute is 5 bytes long and padded to 8; a string carries its NUL and is padded', () => {
  const w = new NlWriter(4);
  w.u8(9, 6).string(1, 'flower');
  assert.equal(w.finish().toString('hex'), '0500090006000000' + '0b000100666c6f77657200' + '00');
});

test('integers: u16/u32 little endian, be16 big endian (ports, ethertypes)', () => {
  const w = new NlWriter();
  w.u16(1, 0x1234).be16(2, 0x0800).u32(3, 0xfffffff2);
  const a = readAttrs(w.finish(), 'x');
  assert.deepEqual(a.map((x) => x.value.toString('hex')), ['3412', '0800', 'f2ffffff']);
  assert.deepEqual([getU16(a[0]!.value, 'a'), getBe16(a[1]!.value, 'b'), getU32(a[2]!.value, 'c')], [0x1234, 0x0800, 0xfffffff2]);
});

test('nests patch their length when they end, and NLA_F_NESTED is set only when asked for', () => {
  const w = new NlWriter();
  const outer = w.beginNest(2);
  const inner = w.beginNest(2, true);
  w.u32(4, 7);
  w.endNest(inner);
  w.u8(5, 1);
  w.endNest(outer);
  const [o] = readAttrs(w.finish(), 'x');
  assert.deepEqual([o!.type, o!.nested, o!.value.length], [2, false, 12 + 8]);
  const [i, b] = readAttrs(o!.value, 'o');
  assert.deepEqual([i!.type, i!.nested, getU32(readAttrs(i!.value, 'i')[0]!.value, 'v'), b!.type], [2, true, 7, 5]);
});

test('messages patch nlmsg_len; the writer grows past its initial size', () => {
  const w = new NlWriter(8);
  const m = w.beginMessage(44, 0x605, 77, 9);
  w.tcmsg(3, 0, 0xfffffff2, 0x20008);
  w.bytes(12, Buffer.alloc(100, 1));
  w.endMessage(m);
  const b = w.finish();
  assert.deepEqual([b.readUInt32LE(0), b.length, b.readUInt16LE(4), b.readUInt16LE(6), b.readUInt32LE(8), b.readUInt32LE(12), b.readInt32LE(20)], [140, 140, 44, 0x605, 77, 9, 3]);
});

test('attrMap keeps the last attribute of a type, as the kernel does', () => {
  const w = new NlWriter();
  w.u8(1, 1).u8(1, 2);
  assert.equal(attrMap(w.finish(), 'x').get(1)?.[0], 2);
});

test('strings: NUL optional, stops at the first NUL', () => {
  assert.equal(getString(Buffer.from('ct\0\0')), 'ct');
  assert.equal(getString(Buffer.from('gact')), 'gact');
});

test('malformed attributes are MalformedMessage errors naming where: cut header, length past the end, length below 4', () => {
  const good = new NlWriter().u32(1, 5).u16(2, 1).finish();
  assert.throws(() => readAttrs(good.subarray(0, 10), 'keys'), (e: unknown) => e instanceof MalformedMessage && /keys: 2 trailing bytes are not an attribute/.test(e.message));
  const short = Buffer.from('02000100', 'hex');
  assert.throws(() => readAttrs(short, 'keys'), /attribute type 1 at offset 0 has length 2/);
  const past = Buffer.from('0c00010001000000', 'hex');
  assert.throws(() => readAttrs(past, 'keys'), /has length 12, 8 bytes left/);
});

test("the last attribute's padding may be cut off by the end of its message", () => {
  const b = Buffer.from('0500090006', 'hex');
  assert.deepEqual(readAttrs(b, 'x').map((a) => [a.type, a.value.length]), [[9, 1]]);
});

test('typed getters refuse values shorter than their type', () => {
  assert.throws(() => getU32(Buffer.alloc(2), 'TCA_CHAIN'), (e: unknown) => e instanceof MalformedMessage && e.message === 'TCA_CHAIN: 2 bytes, expected 4');
  assert.throws(() => getU8(Buffer.alloc(0), 'ip_proto'), MalformedMessage);
  assert.throws(() => getBe16(Buffer.alloc(1), 'port'), MalformedMessage);
});

test('an attribute or nest longer than an attribute length can hold is a bug, thrown', () => {
  assert.throws(() => new NlWriter().bytes(2, Buffer.alloc(70_000)), /an attribute of 70000 bytes does not fit/);
  const w = new NlWriter();
  const n = w.beginNest(1);
  w.bytes(2, Buffer.alloc(40_000)).bytes(2, Buffer.alloc(40_000));
  assert.throws(() => w.endNest(n), /a nest of 80012 bytes does not fit/);
});
