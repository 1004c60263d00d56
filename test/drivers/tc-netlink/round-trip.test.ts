// Every filter the model can express survives encode → decode unchanged (the kernel stores
// and dumps the same attributes; the lab goldens and the cross-driver test check that part).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CT_FLAGS, type FlowerMatch, type TcAction, type TcFilter } from '../../../core/model/tc.js';
import { formatNet, type Net } from '../../../core/model/cidr.js';
import { AttrIndex, NlWriter } from '../../../drivers/tc-netlink/attr.js';
import { NLMSG_HDRLEN, TCA, TCMSG_LEN } from '../../../drivers/tc-netlink/constants.js';
import { decodeFlowerOptions } from '../../../drivers/tc-netlink/decode-flower.js';
import { encodeOp } from '../../../drivers/tc-netlink/encode.js';

const net = (family: 4 | 6): fc.Arbitrary<string> =>
  fc.tuple(fc.bigInt({ min: 0n, max: (1n << BigInt(family === 4 ? 32 : 128)) - 1n }), fc.integer({ min: 1, max: family === 4 ? 32 : 128 })).map(([a, len]) => {
    const bits = BigInt(family === 4 ? 32 : 128);
    const mask = ((1n << BigInt(len)) - 1n) << (bits - BigInt(len));
    return formatNet({ family, addr: a & mask, len } as Net);
  });

const ctState = fc.subarray([...CT_FLAGS], { minLength: 1 }).chain((flags) => fc.tuple(fc.constant(flags), fc.array(fc.boolean(), { minLength: flags.length, maxLength: flags.length }))).map(([flags, set]) => {
  const on = flags.filter((_, i) => set[i]);
  const off = flags.filter((_, i) => !set[i]);
  return [...CT_FLAGS.filter((f) => on.includes(f)).map((f) => `+${f}`), ...CT_FLAGS.filter((f) => off.includes(f)).map((f) => `-${f}`)].join('');
});

const port = fc.integer({ min: 0, max: 65535 });
const portRange = fc.oneof(port.map((p) => ({ start: p, end: p })), fc.tuple(port, port).filter(([a, b]) => a < b).map(([a, b]) => ({ start: a, end: b })));

/** Keys of an IP family, as compile can combine them. */
const ipKeys = (family: 4 | 6): fc.Arbitrary<FlowerMatch> =>
  fc
    .record({ ctState: fc.option(ctState, { nil: undefined }), srcIp: fc.option(net(family), { nil: undefined }), dstIp: fc.option(net(family), { nil: undefined }), l4: fc.oneof(fc.constant(undefined), fc.tuple(fc.constantFrom('tcp', 'udp', 'sctp'), fc.option(portRange, { nil: undefined })), fc.tuple(fc.constant(family === 4 ? 'icmp' : 'icmpv6'), fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }))) })
    .map(({ ctState: c, srcIp, dstIp, l4 }) => {
      const m: Record<string, unknown> = {};
      if (c !== undefined) m['ctState'] = c;
      if (srcIp !== undefined) m['srcIp'] = srcIp;
      if (dstIp !== undefined) m['dstIp'] = dstIp;
      if (l4) {
        m['ipProto'] = l4[0];
        if (l4[1] !== undefined) m[typeof l4[1] === 'number' ? 'icmpType' : 'dstPort'] = l4[1];
      }
      return m as FlowerMatch;
    });

const protocolAndMatch: fc.Arbitrary<[TcFilter['protocol'], FlowerMatch]> = fc.oneof(
  fc.constant<[TcFilter['protocol'], FlowerMatch]>(['all', {}]),
  ctState.map((c): [TcFilter['protocol'], FlowerMatch] => ['all', { ctState: c }]),
  fc.constant<[TcFilter['protocol'], FlowerMatch]>(['arp', {}]),
  ipKeys(4).map((m): [TcFilter['protocol'], FlowerMatch] => ['ip', m]),
  ipKeys(6).map((m): [TcFilter['protocol'], FlowerMatch] => ['ipv6', m]),
  ipKeys(4).map((m): [TcFilter['protocol'], FlowerMatch] => ['802.1Q', { vlanEthType: 'ip', ...m }]),
  ipKeys(6).map((m): [TcFilter['protocol'], FlowerMatch] => ['802.1Q', { vlanEthType: 'ipv6', ...m }]),
  fc.constant<[TcFilter['protocol'], FlowerMatch]>(['802.1Q', { vlanEthType: 'arp' }]),
  ipKeys(4).map((m): [TcFilter['protocol'], FlowerMatch] => ['802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ip', ...m }]),
  ipKeys(6).map((m): [TcFilter['protocol'], FlowerMatch] => ['802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ipv6', ...m }]),
  fc.constant<[TcFilter['protocol'], FlowerMatch]>(['802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'arp' }]),
);

const action: fc.Arbitrary<TcAction> = fc.oneof(
  fc.constant<TcAction>({ kind: 'pass' }),
  fc.constant<TcAction>({ kind: 'drop' }),
  fc.integer({ min: 0, max: 0x0fffffff }).map((chain): TcAction => ({ kind: 'goto', chain })),
  fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.boolean()).map(([zone, commit]): TcAction => ({ kind: 'ct', zone, commit })),
);

/** Shared-block keys, in front of any of the others: a port name of 1..15 bytes, a destination MAC. */
const ifname = fc.stringMatching(/^[a-z][a-z0-9._-]{0,14}$/);
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
const blockKeys = fc.record({ indev: fc.option(ifname, { nil: undefined }), dstMac: fc.option(mac, { nil: undefined }) }).map(({ indev, dstMac }): FlowerMatch => ({ ...(indev !== undefined ? { indev } : {}), ...(dstMac !== undefined ? { dstMac } : {}) }));

const filter: fc.Arbitrary<TcFilter> = fc
  .record({ hook: fc.constantFrom('ingress' as const, 'egress' as const), chain: fc.integer({ min: 0, max: 0xffffffff }), pref: fc.integer({ min: 1, max: 0xffff }), pm: protocolAndMatch, block: blockKeys, actions: fc.array(action, { minLength: 1, maxLength: 3 }) })
  .map(({ hook, chain, pref, pm, block, actions }) => ({ hook, chain, pref, protocol: pm[0], match: { ...block, ...pm[1] }, actions }));

test('encode → decode gives back every filter the model can express (keys, masks, actions, indev and dst_mac)', () => {
  fc.assert(
    fc.property(filter, (f) => {
      const w = new NlWriter();
      encodeOp(w, { op: 'add', filter: f }, 7, 1, true);
      const b = w.finish();
      const top = new AttrIndex().load(b, NLMSG_HDRLEN + TCMSG_LEN, b.length, 'request');
      assert.equal(top.u32(TCA.CHAIN, 'chain'), f.chain);
      const options = new AttrIndex();
      top.nest(TCA.OPTIONS, options, 'options');
      const o = decodeFlowerOptions(options);
      assert.deepEqual({ match: o.match, actions: o.actions }, { match: f.match, actions: f.actions });
    }),
    { numRuns: 3000 },
  );
});
