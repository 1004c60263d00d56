import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';

describe('NodeSysfs', () => {
  let outer: string;
  let root: string;
  let sysfs: NodeSysfs;

  before(async () => {
    outer = await mkdtemp(join(tmpdir(), 'mnp-node-sysfs-'));
    root = join(outer, 'root');
    await mkdir(join(root, 'sys/class/net/eth0'), { recursive: true });
    await writeFile(join(root, 'sys/class/net/eth0/phys_port_name'), 'pf0vf0\n');
    await symlink('../../../devices/x', join(root, 'sys/class/net/eth0/device'));
    await writeFile(join(outer, 'secret'), 'outside the root\n');
    sysfs = new NodeSysfs(root);
  });
  after(() => rm(outer, { recursive: true, force: true }));

  test('reads a file at an absolute host path under the root', async () => {
    assert.equal(await sysfs.readFile('/sys/class/net/eth0/phys_port_name'), 'pf0vf0\n');
  });

  test('returns the raw target of a symlink, without resolving it', async () => {
    assert.equal(await sysfs.readlink('/sys/class/net/eth0/device'), '../../../devices/x');
  });

  test('lists a directory sorted', async () => {
    assert.deepEqual(await sysfs.readdir('/sys/class/net/eth0'), ['device', 'phys_port_name']);
  });

  test('a missing file, link or directory is undefined or empty, not an exception', async () => {
    assert.equal(await sysfs.readFile('/sys/class/net/eth9/phys_port_name'), undefined);
    assert.equal(await sysfs.readlink('/sys/class/net/eth9/device'), undefined);
    assert.deepEqual(await sysfs.readdir('/sys/class/net/eth9'), []);
  });

  test('wrong kinds of entries are absent too: readlink of a file (EINVAL), paths through a file (ENOTDIR)', async () => {
    assert.equal(await sysfs.readlink('/sys/class/net/eth0/phys_port_name'), undefined);
    assert.deepEqual(await sysfs.readdir('/sys/class/net/eth0/phys_port_name'), []);
    assert.equal(await sysfs.readFile('/sys/class/net/eth0/phys_port_name/x'), undefined);
  });

  test('a path with .. cannot climb out of the root', async () => {
    assert.equal(await sysfs.readFile('/../secret'), undefined);
    assert.equal(await sysfs.readFile('/sys/../../secret'), undefined);
    // Same file reached without climbing, to show the read itself would have worked.
    assert.equal(await new NodeSysfs(outer).readFile('/secret'), 'outside the root\n');
  });

  test('reading a directory as a file is a real fault and is thrown', async () => {
    await assert.rejects(sysfs.readFile('/sys/class/net'), { code: 'EISDIR' });
  });
});
