// Renders the deployment the two ways users install it: the kustomize base with the real
// kustomize (`kubectl kustomize`), and the Helm chart with helm-render (helm-render/main.go:
// Go text/template + sprig, the engine Helm uses; no helm binary is packaged for Debian or
// npm). The renderer is built once per content into test-out/.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { Manifest } from './k8s-schema.js';

const run = promisify(execFile);
export const CHART = 'deploy/helm/multi-networkpolicy-tc';
export const KUSTOMIZE = 'deploy/kustomize';
const SOURCE = 'test/deploy/helm-render/main.go';

export function parseDocs(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null && typeof d === 'object');
}

export async function kustomize(dir = KUSTOMIZE): Promise<Manifest[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 16 << 20 }).catch((e: Error & { code?: string }) => {
    throw new Error(e.code === 'ENOENT' ? 'kubectl is not installed (it provides kustomize); see .ci/run' : e.message);
  });
  return parseDocs(stdout);
}

let built: Promise<string> | undefined;

async function helmRender(): Promise<string> {
  const hash = createHash('sha256').update(await readFile(SOURCE)).digest('hex').slice(0, 12);
  const bin = resolve('test-out', `helm-render-${hash}`);
  if (existsSync(bin)) return bin;
  await mkdir('test-out', { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  // GOPATH mode against Debian's golang-* source packages: no module download needed.
  await run('go', ['build', '-o', tmp, '.'], {
    cwd: 'test/deploy/helm-render',
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOFLAGS: '' },
  }).catch((e: Error & { code?: string; stderr?: string }) => {
    throw new Error(e.code === 'ENOENT' ? 'go is not installed; .ci/run installs golang-go and the sprig/yaml sources (Debian)' : `go build failed: ${e.stderr ?? e.message}`);
  });
  await rename(tmp, bin);
  return bin;
}

/** The renderer binary (built on first use). */
export function helmRenderBinary(): Promise<string> {
  built ??= helmRender();
  return built;
}

/** `helm template RELEASE CHART --namespace NS --include-crds -f values...` */
export async function helmTemplate(release: string, namespace: string, valueFiles: readonly string[] = []): Promise<Manifest[]> {
  built ??= helmRender();
  const bin = await built;
  const { stdout } = await run(bin, ['-include-crds', CHART, release, namespace, ...valueFiles], { maxBuffer: 16 << 20 });
  return parseDocs(stdout);
}

export async function helmTemplateFails(valueFiles: readonly string[]): Promise<string> {
  built ??= helmRender();
  const bin = await built;
  try {
    await run(bin, [CHART, 'x', 'ns', ...valueFiles]);
    return '';
  } catch (e) {
    return (e as { stderr: string }).stderr;
  }
}

export const byKind = (docs: readonly Manifest[], kind: string): Manifest[] => docs.filter((d) => d.kind === kind);
export const tmpValues = (dir: string, name: string) => join(dir, name);
