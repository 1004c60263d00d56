// Summarises a V8 CPU profile (`node --cpu-prof`): the functions with the most self time.
//   node --import tsx bench/lib/profile-top.ts <file.cpuprofile> [N]
import { readFileSync } from 'node:fs';

interface Node {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly Node[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export function topFunctions(profile: Profile, n = 25): { name: string; where: string; selfMs: number; share: number }[] {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const f = node.callFrame;
    const where = `${f.url.replace(/^.*\/(core|drivers|plugins|bench|test|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}\t${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, ms]) => {
      const [name, where] = k.split('\t') as [string, string];
      return { name, where, selfMs: ms, share: ms / total };
    });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const p = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Profile;
  for (const t of topFunctions(p, Number(process.argv[3] ?? 25))) console.log(`${t.selfMs.toFixed(0).padStart(7)} ms ${(100 * t.share).toFixed(1).padStart(5)} %  ${t.name}  ${t.where}`);
}
