// Upstream utils_test.go U1-U7 (CheckNodeNameIdentical) plus bug 25. Ours compares the whole
// name case-insensitively, and lets a short name equal an FQDN that starts with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameNode } from '../../../core/pipeline/node-name.js';

const rows: [string, string, string, boolean][] = [
  ['U1 (deviation): two different FQDNs sharing the first label are NOT the same node', 'my-host.some-lab.some-site', 'my-host.some-lab-alt-name.some-site-alt-name', false],
  ['U2: an FQDN equals its short name', 'my-host.some-lab.some-site', 'my-host', true],
  ['U3: a short name equals an FQDN that starts with it', 'my-host', 'my-host.some-lab.some-site', true],
  ['U4: the same FQDN', 'my-host.some-lab.some-site', 'my-host.some-lab.some-site', true],
  ['U5: the same short name', 'my-host', 'my-host', true],
  ['U6: FQDNs of different hosts in one domain differ', 'my-host.some-lab.some-site', 'my-other-host.some-lab.some-site', false],
  ['U7: different short names differ', 'my-host', 'my-other-host', false],
  ['bug 25: a mixed-case spec.nodeName matches the lowercase host name', 'Worker-1', 'worker-1', true],
  ['bug 25: a mixed-case host name matches a lowercase nodeName', 'worker-1', 'WORKER-1', true],
  ['bug 25: case-insensitive across short name and FQDN', 'WORKER-1.Example.COM', 'worker-1', true],
  ['a short name that is only a prefix of the first label differs', 'worker', 'worker-1.example.com', false],
  ['surrounding whitespace is ignored', ' worker-1\n', 'worker-1', true],
  ['an empty nodeName (unscheduled pod) is on no node', '', 'worker-1', false],
  ['an empty own name matches nothing', 'worker-1', '', false],
];

for (const [what, a, b, want] of rows) {
  test(what, () => {
    assert.equal(sameNode(a, b), want);
    assert.equal(sameNode(b, a), want, 'the comparison is symmetric');
  });
}
