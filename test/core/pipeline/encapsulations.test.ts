import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NetworkAttachment } from '../../../core/model/attachment.js';
import { encapsulationsFor, trunksVlans } from '../../../core/pipeline/encapsulations.js';

const net = (config: Record<string, unknown>): NetworkAttachment => ({ key: 'ns1/n', namespace: 'ns1', name: 'n', cniType: 'accelerated-bridge', config });

test('a network trunks VLANs only when its config has a non-empty trunk list', () => {
  assert.equal(trunksVlans(net({ trunk: [{ id: 42 }] })), true);
  assert.equal(trunksVlans(net({ trunk: [] })), false);
  assert.equal(trunksVlans(net({ trunk: 'yes' })), false);
  assert.equal(trunksVlans(net({ vlan: 100 })), false, 'an access VLAN is untagged towards the pod');
  assert.equal(trunksVlans(undefined), false);
});

test("'auto': untagged, plus 802.1Q when any of the networks (a bond's members too) trunks", () => {
  assert.deepEqual(encapsulationsFor('auto', [net({})]), ['untagged']);
  assert.deepEqual(encapsulationsFor('auto', [undefined, net({}), net({ trunk: [{ id: 1 }] })]), ['untagged', '802.1Q']);
  assert.deepEqual(encapsulationsFor('auto', []), ['untagged']);
});

test('an explicit list is used as given', () => {
  assert.deepEqual(encapsulationsFor(['802.1Q', '802.1ad'], [net({})]), ['802.1Q', '802.1ad']);
});
