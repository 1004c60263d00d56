#!/usr/bin/env node
// Entry point. A built tree runs the bundle in dist/ (`npm run build`, the image:
// deploy/image/bundle.mjs, one minified ESM bundle, far less memory than the modules one by
// one); a checkout runs the TypeScript sources through tsx, so `npx multi-networkpolicy-tc`
// works right after `npm ci`.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(root, 'dist', 'core', 'cli', 'run.js');
if (existsSync(bundled)) {
  await import(pathToFileURL(bundled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: join(root, 'tsconfig.json') });
  await import(pathToFileURL(join(root, 'core', 'cli', 'run.ts')).href);
}
