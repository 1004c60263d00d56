// `--plugin <path>`: a module file as is; a package directory through its package.json.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { isPathSpec, pluginEntry } from '../../../core/agent/plugin-path.js';

async function pkg(json: unknown | undefined): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mnp-pkg-'));
  if (json !== undefined) await writeFile(join(dir, 'package.json'), JSON.stringify(json));
  return dir;
}

test('relative and absolute paths are paths; package names are not', () => {
  assert.ok(isPathSpec('./x') && isPathSpec('../x') && isPathSpec('/opt/x'));
  assert.ok(!isPathSpec('mnp-tc-adapter') && !isPathSpec('@scope/adapter'));
});

test('a package directory enters through exports, then main, then index.js', async () => {
  const cases: [unknown, string][] = [
    [{ exports: './dist/a.js' }, 'dist/a.js'],
    [{ exports: { '.': './b.js' } }, 'b.js'],
    [{ exports: { '.': { import: './c.mjs', require: './c.cjs' } } }, 'c.mjs'],
    [{ exports: { import: './d.js', default: './d-default.js' } }, 'd.js'],
    [{ exports: { '.': { default: './e.js' } } }, 'e.js'],
    [{ main: 'lib/f.js' }, 'lib/f.js'],
    [{ name: 'no-entry' }, 'index.js'],
    [undefined, 'index.js'],
  ];
  for (const [json, entry] of cases) {
    const dir = await pkg(json);
    assert.equal(pluginEntry(dir), pathToFileURL(join(dir, entry)).href, JSON.stringify(json));
  }
});

test('a file is imported as it is; a missing path or a broken package.json is one sentence', async () => {
  const dir = await pkg({});
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'plugin.js'), 'export default {};\n');
  assert.equal(pluginEntry(join(dir, 'sub', 'plugin.js')), pathToFileURL(join(dir, 'sub', 'plugin.js')).href);
  assert.throws(() => pluginEntry(join(dir, 'nope')), /^Error: no such file or directory: .*nope$/);
  await writeFile(join(dir, 'package.json'), '{ not json');
  assert.throws(() => pluginEntry(dir), /package\.json: .*JSON/);
});
