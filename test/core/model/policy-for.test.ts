import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MultiNetworkPolicy } from '../../../core/model/k8s.js';
import type { InvalidPolicy } from '../../../core/model/snapshot.js';
import { parsePolicyFor, policyNetworks } from '../../../core/model/policy-for.js';

const policy = (annotation?: string, namespace = 'my-ns'): MultiNetworkPolicy => ({
  metadata: {
    name: 'p',
    namespace,
    ...(annotation === undefined ? {} : { annotations: { 'k8s.v1.cni.cncf.io/policy-for': annotation } }),
  },
  spec: { podSelector: {} },
});

describe('policyNetworks', () => {
  // Upstream NetworkListFromPolicy rows (reference §6.8), all of which are right.
  const upstream: [string, string | undefined, string[]][] = [
    ['U13 a bare name gets the policy namespace', 'accel-net1', ['my-ns/accel-net1']],
    ['U14 ns/name is kept', 'default/accel-net1', ['default/accel-net1']],
    ['U15 a list mixes both, spaces trimmed', 'default/accel-net1, accel-net2', ['default/accel-net1', 'my-ns/accel-net2']],
    ['U16 no annotation: no network', undefined, []],
    ['U17 an empty annotation: no network', '', []],
    ['U18 only spaces: no network', '   ', []],
  ];
  // Fixes of upstream bug 13 and other edges.
  const fixes: [string, string, string[]][] = [
    ['empty entries are ignored ("a,,b")', 'a,,b', ['my-ns/a', 'my-ns/b']],
    ['a trailing comma adds nothing', 'a,', ['my-ns/a']],
    ['tabs and newlines are trimmed', '\ta ,\n other/b\t', ['my-ns/a', 'other/b']],
    ['whitespace around the slash is dropped', 'other / b', ['other/b']],
    ['duplicates are removed, first occurrence kept', 'b, a, my-ns/b, a', ['my-ns/b', 'my-ns/a']],
  ];
  for (const [what, annotation, want] of [...upstream, ...fixes]) {
    test(what, () => assert.deepEqual(policyNetworks(policy(annotation)), want));
  }

  test('an invalid policy is read from its kept annotations and namespace', () => {
    const bad: InvalidPolicy = {
      namespace: 'ns2',
      name: 'p',
      annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'n1, other/n2' },
      field: 'spec',
      problem: 'is required',
    };
    assert.deepEqual(policyNetworks(bad), ['ns2/n1', 'other/n2']);
    assert.deepEqual(policyNetworks({ ...bad, annotations: {} }), []);
  });

  test('parsePolicyFor is the same rule on a plain string', () => {
    assert.deepEqual(parsePolicyFor(' x ,y/z,', 'ns'), ['ns/x', 'y/z']);
  });
});
