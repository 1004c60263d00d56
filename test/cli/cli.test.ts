// The offline commands as a user runs them: through main() with captured output, on real
// files. Errors must be one clear line naming the file and field, never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, readFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../core/cli/main.js';

const CASES = join(import.meta.dirname, '..', '..', '..', 'shared', 'conformance', 'cases');
const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples', 'cluster');

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out, err };
}

const noStack = (lines: readonly string[]) => assert.ok(!lines.join('\n').match(/\n\s+at .*\(.*:\d+:\d+\)/), `stack trace in: ${lines.join('\n')}`);

test('check passes every shared conformance case and ends with the N passed, N failed line', async () => {
  const r = await run('check', CASES);
  assert.equal(r.code, 0, r.out.join('\n'));
  assert.match(r.out.at(-1)!, /^58 passed, 0 failed$/);
});

test('check fails, and says why, on a case whose expectation is wrong', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mnp-check-'));
  const text = await readFile(join(CASES, 'stacked.yaml'), 'utf8');
  // client-c is refused by the policies; claim it is allowed
  const wrong = text.replace(/(from: test-stacked\/pod-client-c[\s\S]*?expect: )deny/, '$1allow');
  assert.notEqual(wrong, text);
  await writeFile(join(dir, 'stacked.yaml'), wrong); // the case name must match the file name
  const r = await run('check', join(dir, 'stacked.yaml'));
  assert.equal(r.code, 1);
  const fail = r.out.find((l) => l.startsWith('FAIL'));
  assert.ok(fail, r.out.join('\n'));
  assert.match(fail, /stacked probe 2: test-stacked\/pod-client-c -> test-stacked\/pod-server TCP\/5555 ipv4 .*expected allow, got deny/);
  assert.match(fail, /ingress of test-stacked\/pod-server: isolated by test-stacked\/testnetwork-policy-stacked-1, test-stacked\/testnetwork-policy-stacked-2, no rule allows it/);
  assert.match(fail, /dropped at test-stacked\/pod-server/);
  assert.equal(r.out.at(-1), '2 passed, 1 failed');
});

test('check --json prints one object per probe with case, probe, expected and got', async () => {
  const r = await run('check', '--json', join(CASES, 'port-range.yaml'));
  const objs = r.out.slice(0, -1).map((l) => JSON.parse(l) as { case: string; expect: string; got: string; pass: boolean });
  assert.equal(objs.length, 4);
  assert.ok(objs.every((o) => o.case === 'port-range' && o.pass && o.expect === o.got));
});

test('render prints rule sets and a tc batch for every local attachment of the examples', async () => {
  const r = await run('render', '--manifests', EXAMPLES, '--node', 'worker-1');
  assert.equal(r.code, 0, r.err.join('\n'));
  const text = r.out.join('\n');
  assert.match(text, /^# node worker-1: 5 attachments enforced/m);
  assert.match(text, /qdisc add dev eth5 clsact/);
  assert.match(text, /filter add dev eth6 egress chain 10000 pref 9 protocol all flower action drop/);
  assert.ok(!text.includes('worker-2'), 'pods of other nodes are not programmed here');
});

test('render --output json gives filters and batch lines per endpoint', async () => {
  const r = await run('render', '--manifests', EXAMPLES, '--node', 'WORKER-1', '--output', 'json');
  const doc = JSON.parse(r.out.join('\n')) as { endpoints: { endpoint: string; netdevs: string[]; batch: string[]; filters: unknown[] }[] };
  assert.deepEqual(doc.endpoints.map((e) => e.endpoint), ['ledger/writer-0/net1', 'ledger/writer-0/net2', 'payments/api-0/net1', 'payments/db-0/net1', 'payments/db-0/net2']);
  for (const e of doc.endpoints) assert.equal(e.batch.filter((l) => l.startsWith('filter add')).length, e.filters.length);
});

test('trace says allow and names the policy and rule', async () => {
  const r = await run('trace', '--manifests', EXAMPLES, '--from', 'payments/api-0', '--to', 'payments/db-0', '--network', 'default/data-net', '--port', '5432/TCP');
  assert.equal(r.code, 0, r.out.join('\n') + r.err.join('\n'));
  assert.match(r.out[0]!, /^ALLOW payments\/api-0 -> payments\/db-0 TCP\/5432 ipv4/);
  assert.ok(r.out.some((l) => /ingress of payments\/db-0: allowed by payments\/db-lockdown rule 0/.test(l)), r.out.join('\n'));
});

test('trace says deny, names the isolating policy and shows where the frame was dropped', async () => {
  const r = await run('trace', '--manifests', EXAMPLES, '--from', 'payments/api-0', '--to', 'payments/db-0', '--network', 'default/data-net', '--port', '5433/TCP');
  assert.equal(r.code, 1);
  assert.match(r.out[0]!, /^DENY/);
  assert.ok(r.out.some((l) => /isolated by payments\/db-lockdown, no rule allows it/.test(l)));
  assert.ok(r.out.some((l) => /chain 10000 pref 9 protocol all: drop/.test(l)), r.out.join('\n'));
});

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mnp-cli-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const POLICY = (spec: string) => `apiVersion: k8s.cni.cncf.io/v1beta1
kind: MultiNetworkPolicy
metadata: {name: p, namespace: ns1, annotations: {k8s.v1.cni.cncf.io/policy-for: net1}}
spec:
${spec}
`;

for (const [name, files, pattern] of [
  ['a missing file', null, /does-not-exist.*(no such file|not found|does not exist)/i],
  ['malformed YAML', { 'bad.yaml': 'kind: Pod\nmetadata: {name: x\n' }, /bad\.yaml:\d+/],
  ['an unknown kind', { 'd.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, namespace: a}\n' }, /d\.yaml.*Deployment/],
  ['an invalid CIDR', { 'p.yaml': POLICY('  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock: {cidr: 10.0.0.0/33}') }, /p\.yaml.*MultiNetworkPolicy ns1\/p.*spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr/],
  ['an invalid selector operator', { 'p.yaml': POLICY('  podSelector:\n    matchExpressions:\n      - {key: app, operator: Like, values: [x]}') }, /p\.yaml.*spec\.podSelector\.matchExpressions\[0\]\.operator/],
] as [string, Record<string, string> | null, RegExp][]) {
  for (const cmd of ['render', 'trace'] as const) {
    test(`${cmd} reports ${name} in one clear line naming the file and field, exit 2`, async () => {
      const dir = files ? await tree(files) : join(tmpdir(), 'does-not-exist');
      const extra = cmd === 'render' ? ['--node', 'n1'] : ['--from', 'ns1/a', '--to', 'ns1/b', '--network', 'ns1/net1', '--port', '80', '--node', 'n1'];
      const r = await run(cmd, '--manifests', dir, ...extra);
      assert.equal(r.code, 2);
      assert.match(r.err.join('\n'), pattern);
      noStack(r.err);
    });
  }
}

test('check reports a malformed case file by file and field, exit 2', async () => {
  const dir = await tree({ 'c.yaml': 'name: c\ndescription: d\norigin: own\nnode: n\nnamespaces: []\nnetworks: []\npods: []\npolicies: []\nprobes:\n  - {from: a/b, to: a/c, network: a/n, port: 1, expect: maybe}\n' });
  const r = await run('check', join(dir, 'c.yaml'));
  assert.equal(r.code, 2);
  assert.match(r.err.join('\n'), /c\.yaml.*probes\[0\]/);
  noStack(r.err);
});

test('an unknown --tc-driver or adapter stops with one line listing the known names', async () => {
  const a = await run('render', '--manifests', EXAMPLES, '--node', 'worker-1', '--network-plugins', 'accelerated-brdge');
  assert.equal(a.code, 2);
  assert.match(a.err.join('\n'), /accelerated-brdge: unknown --network-plugins value \(known: accelerated-bridge, bond, sriov;/);
  const b = await run('--tc-driver', 'netlnk', '--manifests', EXAMPLES);
  assert.equal(b.code, 2);
  assert.match(b.err.join('\n'), /netlnk: unknown --tc-driver value \(known: cmdline, dry-run, netlink/);
});

test('invalid flag values are refused before anything runs', async () => {
  for (const argv of [['--ct-zone', '70000'], ['--encapsulations', 'vxlan'], ['-v', 'loud'], ['--bogus']]) {
    const r = await run('render', ...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.err.length >= 1, true);
    noStack(r.err);
  }
});

test('--help lists the commands and upstream flags', async () => {
  const r = await run('--help');
  assert.equal(r.code, 0);
  for (const s of ['render', 'trace', 'check', '--kubeconfig', '--master', '--hostname-override', '--network-plugins', '--pod-rules-path', '--tc-driver']) assert.ok(r.out.join('\n').includes(s), s);
});
