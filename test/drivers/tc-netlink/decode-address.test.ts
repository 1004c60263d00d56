// The reader's fast address path (no text round trip) gives exactly the CIDR that parse.ts
// makes of tc's text for the same key and mask: canonicalCidr("addr/len"), host bits cleared.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatIp } from '../../../core/model/cidr.js';
import { canonicalCidr } from '../../../drivers/shared/canonical.js';
import { AttrIndex, NlWriter } from '../../../drivers/tc-netlink/attr.js';
import { TCA_FLOWER } from '../../../drivers/tc-netlink/constants.js';
import { decodeFlowerOptions } from '../../../drivers/tc-netlink/decode-flower.js';

const big = (b: Uint8Array): bigint => b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
const prefixMask = (bytes: number, len: number): Buffer => {
  const m = Buffer.alloc(bytes);
  for (let i = 0; i < len; i++) m[i >> 3]! |= 0x80 >> (i & 7);
  return m;
};

function decodeDst(addr: Buffer, mask: Buffer): ReturnType<typeof decodeFlowerOptions>['match'] {
  const v4 = addr.length === 4;
  const w = new NlWriter();
  w.bytes(v4 ? TCA_FLOWER.KEY_IPV4_DST : TCA_FLOWER.KEY_IPV6_DST, addr).bytes(v4 ? TCA_FLOWER.KEY_IPV4_DST_MASK : TCA_FLOWER.KEY_IPV6_DST_MASK, mask);
  const b = w.finish();
  return decodeFlowerOptions(new AttrIndex().load(b, 0, b.length, 'options')).match;
}

for (const bytes of [4, 16]) {
  test(`IPv${bytes === 4 ? 4 : 6} prefix keys (host bits set or not) read as canonicalCidr of tc's "addr/len"`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: bytes, maxLength: bytes }), fc.integer({ min: 0, max: bytes * 8 }), fc.boolean(), (raw, len, sparse) => {
        // sparse: mostly zero groups, so the RFC 5952 compression is exercised
        const addr = Buffer.from(sparse ? raw.map((x, i) => (i % 5 === 0 ? x : 0)) : raw);
        const family = bytes === 4 ? 4 : 6;
        const tcText = len === bytes * 8 ? formatIp(family, big(addr)) : `${formatIp(family, big(addr))}/${len}`;
        assert.equal(decodeDst(addr, prefixMask(bytes, len)).dstIp, canonicalCidr(tcText));
      }),
      { numRuns: 2000 },
    );
  });
}

test('a mask that is no prefix is unrecognised, printed as tc prints it (address/mask)', () => {
  assert.deepEqual(decodeDst(Buffer.from([10, 0, 0, 0]), Buffer.from([255, 0, 255, 0])), { unrecognised: 'dst_ip="10.0.0.0/255.0.255.0"' });
  const m6 = prefixMask(16, 64);
  m6[15] = 1;
  assert.deepEqual(decodeDst(Buffer.alloc(16), m6), { unrecognised: 'dst_ip="::/ffff:ffff:ffff:ffff::1"' });
});
