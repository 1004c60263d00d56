// Types of deploy/image/bundle.mjs for the TypeScript that imports it (the tests, the benchmark).
import type { Metafile } from 'esbuild';

export declare const ENTRY_POINTS: Readonly<Record<string, string>>;
export declare const EXTERNAL: readonly string[];
/** Bundles the agent into `outdir` (emptied first; default dist/); returns esbuild's metafile. */
export declare function bundle(outdir?: string): Promise<Metafile>;
