// Shared-block layout: what a representor must NOT carry. The layout puts nothing on a port's
// own hooks — its program is the block's — so any filter on its egress hook, or on its
// ingress hook while that hook is not a shared block's, is a per-port program left behind.
// (`tc filter show dev P ingress` on a bound port lists the block's filters: those are
// checked through the block target instead.)
import { exec, run, tcFilters, tcQdiscs, type TcJsonFilter } from './sh.js';

/** Why `dev` carries a program of its own, or undefined when it carries none. */
export async function ownProgram(dev: string): Promise<string | undefined> {
  if ((await exec.run('ip', ['link', 'show', 'dev', dev])).exitCode !== 0) return undefined; // gone with its pod
  const qdiscs = await tcQdiscs(dev);
  const clsact = qdiscs.find((q) => q.kind === 'clsact' || q.kind === 'ingress') as { kind: string; ingress_block?: number } | undefined;
  if (clsact === undefined) return undefined;
  const problems: string[] = [];
  if (clsact.ingress_block === undefined) {
    const n = (await tcFilters(dev, 'ingress')).length;
    if (n > 0) problems.push(`${n} filters on its own ingress hook`);
  }
  if (clsact.kind === 'clsact') {
    const n = (await tcFilters(dev, 'egress')).length;
    if (n > 0) problems.push(`${n} filters on its egress hook`);
  }
  return problems.length > 0 ? `${dev}: ${problems.join(', ')}` : undefined;
}

/** `dev`'s ingress_block, if its clsact has one. */
export async function boundBlock(dev: string): Promise<number | undefined> {
  const q = (await tcQdiscs(dev)).find((x) => x.kind === 'clsact') as { ingress_block?: number } | undefined;
  return q?.ingress_block;
}

/** `tc -s -j filter show block N`, parsed (every chain of the block, with counters). */
export async function blockFilters(index: number): Promise<TcJsonFilter[]> {
  const out = await run('tc', ['-s', '-j', 'filter', 'show', 'block', String(index)]);
  return (JSON.parse(out === '' ? '[]' : out) as TcJsonFilter[]).filter((f) => f.options !== undefined);
}
