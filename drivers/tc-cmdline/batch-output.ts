// What `tc -batch` prints around the commands: the documents of several show commands in one
// stdout, and the line number of the command that failed. Pure.
import { err, ok, type Result } from '../../core/api/result.js';

/**
 * `tc -j -batch -` prints one JSON document per show command (iproute2 6.1: one compact array
 * per line). Split on document boundaries rather than on newlines, so pretty output (`-p`)
 * reads the same. Exactly `count` documents or an error.
 */
export function splitShowOutput(stdout: string, count: number, netdev: string): Result<unknown[]> {
  const docs: unknown[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < stdout.length; i++) {
    const c = stdout[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === ']' || c === '}') {
      if (depth === 0) return err({ code: 'tc-parse-failed', netdev, problem: `unexpected ${JSON.stringify(c)} between show outputs` });
      if (--depth === 0) {
        try {
          docs.push(JSON.parse(stdout.slice(start, i + 1)));
        } catch {
          return err({ code: 'tc-parse-failed', netdev, problem: `show output ${docs.length + 1} is not valid JSON` });
        }
      }
    } else if (depth === 0 && !/\s/.test(c ?? '')) {
      return err({ code: 'tc-parse-failed', netdev, problem: `unexpected ${JSON.stringify(c)} between show outputs` });
    }
  }
  if (depth !== 0 || inString) return err({ code: 'tc-parse-failed', netdev, problem: 'show output ends inside a JSON document' });
  if (docs.length !== count) return err({ code: 'tc-parse-failed', netdev, problem: `expected ${count} show outputs, got ${docs.length}` });
  return ok(docs);
}

/** The 1-based line of the failing command in `tc -batch -` stderr (`Command failed -:3`), if any. */
export function failedBatchLine(stderr: string): number | undefined {
  const all = [...stderr.matchAll(/^Command failed [^\n]*:(\d+)\s*$/gm)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}
