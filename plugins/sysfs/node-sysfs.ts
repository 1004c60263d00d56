// The real Sysfs port: reads a host tree through node:fs/promises. The root is injectable so
// tests can point it at a fake tree built in a temp dir (`new NodeSysfs('/')` in production).
import { readFile, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Sysfs } from '../../core/api/ports.js';

// errno codes that mean "this attribute or link is not there" rather than "the host is broken".
// sysfs answers EOPNOTSUPP/ENODEV/ENXIO when reading e.g. phys_switch_id of a netdev that has
// no switch (kernels before ~6.x; newer ones hide the file, giving ENOENT); EINVAL comes from
// readlink on a non-link. Anything else (EACCES, EIO) is a real fault and propagates.
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EINVAL', 'EOPNOTSUPP', 'ENOTSUP', 'ENODEV', 'ENXIO']);

function isAbsent(e: unknown): boolean {
  return typeof e === 'object' && e !== null && ABSENT.has(String((e as { code?: unknown }).code));
}

export class NodeSysfs implements Sysfs {
  private readonly root: string;

  constructor(root = '/') {
    this.root = posix.resolve(root);
  }

  /** Maps an absolute host path under the root; `..` cannot climb above it. */
  private at(path: string): string {
    // Normalising against '/' first resolves every `..` inside the host path, so the join
    // below can never leave the root (symlinks in the tree are followed by the kernel as usual).
    return posix.join(this.root, posix.resolve('/', path));
  }

  async readFile(path: string): Promise<string | undefined> {
    try {
      return await readFile(this.at(path), 'utf8');
    } catch (e) {
      if (isAbsent(e)) return undefined;
      throw e;
    }
  }

  async readlink(path: string): Promise<string | undefined> {
    try {
      return await readlink(this.at(path), 'utf8');
    } catch (e) {
      if (isAbsent(e)) return undefined;
      throw e;
    }
  }

  async readdir(path: string): Promise<readonly string[]> {
    try {
      return (await readdir(this.at(path), 'utf8')).sort();
    } catch (e) {
      if (isAbsent(e)) return [];
      throw e;
    }
  }
}
