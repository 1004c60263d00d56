// `--pod-rules-path`: what each enforced pod interface carries, one file per representor, as
// upstream: <path>/<podUID>/<network, "/" → "-">-<netdev>.rules. Unlike upstream the
// directory is created recursively, files of interfaces that went away are removed too, and
// the content is deterministic, so a file is rewritten only when its rules change.
//
//   # payments/api-0 net1 on default/data-net -> eth5
//   # ingress: isolated by payments/db-ingress
//   #   allow 10.56.0.10/32 TCP 5432  [payments/db-ingress rule 0]
//   # egress: open (no policy isolates it)
//   qdisc: clsact
//   filters:
//   ingress chain 0 pref 10000 protocol arp flower action pass
//   ...
//
// Filter lines are the cmdline driver's `tc filter add` arguments after the device name,
// each followed by `# in_hw` or `# not_in_hw` when the kernel reported its offload state.
// Only a netdev whose program is installed gets its file (re)written; a failed one keeps its old file.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toBatchLines } from '../../drivers/tc-cmdline/batch.js';
import type { Logger } from '../api/ports.js';
import type { EndpointProgram } from '../pipeline/program-node.js';
import { filterIdentity } from '../model/tc.js';
import { ruleSetLines } from '../cli/format.js';
import type { NetdevProgram, PassResult, Reporter } from '../agent/reconciler.js';

export function rulesFileName(network: string, netdev: string): string {
  // a shared block's target is `block:<index>`: the file is `<network>-block-<index>.rules`
  return `${network.replaceAll('/', '-')}-${netdev.replaceAll(':', '-')}.rules`;
}

/** The file content for one endpoint on one of its netdevs. Pure and deterministic. */
export function rulesFileContent(np: Pick<NetdevProgram, 'netdev' | 'filters' | 'inHw' | 'target'>, ep: EndpointProgram): string {
  const e = ep.endpoint;
  const block = np.target?.block;
  const where = block ? `shared block ${block.index} (ports ${block.ports.join(', ')}; the program of every pod on the switch)` : np.netdev;
  const head = `# ${e.pod.namespace}/${e.pod.name} ${e.attachment.interface} on ${e.attachment.network} -> ${where}`;
  const rules = ruleSetLines(ep.rules).map((l) => `# ${l}`);
  const prefix = block ? `filter add block ${block.index} ` : `filter add dev ${np.netdev} `;
  const lines = toBatchLines(np.target ?? { name: np.netdev }, { ops: np.filters.map((filter) => ({ op: 'add' as const, filter })) }).map((l) => (l.startsWith(prefix) ? l.slice(prefix.length) : l));
  // offload state as the kernel reported it on the last read: in_hw / not_in_hw
  const filters = lines.map((l, i) => {
    const hw = np.inHw?.get(filterIdentity(np.filters[i]!));
    return hw === undefined ? l : `${l}  # ${hw ? 'in_hw' : 'not_in_hw'}`;
  });
  return [head, ...rules, `qdisc: ${np.filters.length > 0 ? 'clsact' : 'none'}`, 'filters:', ...filters].join('\n') + '\n';
}

export class RulesDump implements Reporter {
  private readonly log: Logger;
  /** Content last written (or found) per file path. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly root: string,
    log: Logger,
  ) {
    this.log = log.child({ component: 'rules-dump' });
  }

  async passDone(result: PassResult): Promise<void> {
    // Every file that should exist, and the content of those whose program is installed.
    const files = new Map<string, Map<string, string | undefined>>(); // uid → name → content (undefined: keep as is)
    for (const np of result.netdevs) {
      for (const ep of np.programs) {
        const uid = ep.endpoint.pod.uid;
        const perPod = files.get(uid) ?? new Map<string, string | undefined>();
        files.set(uid, perPod);
        perPod.set(rulesFileName(ep.endpoint.attachment.network, np.netdev), np.inSync ? rulesFileContent(np, ep) : undefined);
      }
    }
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const [uid, perPod] of files) {
      const dir = join(this.root, uid);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const [name, content] of perPod) if (content !== undefined) await this.write(join(dir, name), content);
      for (const name of await list(dir)) {
        if (name.endsWith('.rules') && !perPod.has(name)) await this.remove(join(dir, name));
      }
    }
    // A pod directory whose pod has no enforced interface on this node any more.
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (entry.isDirectory() && !files.has(entry.name)) await this.remove(join(this.root, entry.name));
    }
  }

  private async write(path: string, content: string): Promise<void> {
    let have = this.written.get(path);
    if (have === undefined) have = await readFile(path, 'utf8').catch(() => undefined);
    if (have === content) {
      this.written.set(path, content);
      return;
    }
    await writeFile(path, content, { mode: 0o600 });
    this.written.set(path, content);
    this.log.debug({ path }, 'rules file written');
  }

  private async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
    for (const k of [...this.written.keys()]) if (k === path || k.startsWith(`${path}/`)) this.written.delete(k);
    this.log.debug({ path }, 'stale rules file removed');
  }
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
