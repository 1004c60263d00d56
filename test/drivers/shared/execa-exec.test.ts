import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExecaExec } from '../../../drivers/shared/execa-exec.js';

const exec = new ExecaExec();
const node = process.execPath;

test('arguments reach the program as an array, untouched by any shell', async () => {
  const tricky = ['a b', '$(echo pwned)', ';', '|', '*', "'q'", ''];
  const r = await exec.run(node, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...tricky]);
  assert.equal(r.exitCode, 0);
  assert.deepEqual(JSON.parse(r.stdout), tricky);
});

test('input goes to stdin; stdout and stderr come back whole (final newline kept)', async () => {
  const r = await exec.run(node, ['-e', 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{process.stdout.write(s.toUpperCase());console.error("err")})'], { input: 'line 1\nline 2\n' });
  assert.deepEqual(r, { exitCode: 0, stdout: 'LINE 1\nLINE 2\n', stderr: 'err\n' });
});

test('a non-zero exit is a value, not a rejection', async () => {
  const r = await exec.run(node, ['-e', 'console.error("Command failed -:3"); process.exit(1)']);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /Command failed -:3/);
});

test('a program that cannot start is exit code -1 with the reason in stderr', async () => {
  const r = await exec.run('/nonexistent/tc', ['-V']);
  assert.equal(r.exitCode, -1);
  assert.match(r.stderr, /ENOENT|not found|nonexistent/i);
});

test('a program that outlives the timeout is killed: exit code -1, "timed out"', async () => {
  const r = await exec.run(node, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 200 });
  assert.equal(r.exitCode, -1);
  assert.match(r.stderr, /timed out after 200 ms/);
});
