import { fileURLToPath } from 'node:url';

/** The repository root: `functions/` entries and the lock file are found from here. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A route's handler file. */
export const entryFor = (handler: string) => `${PROJECT_ROOT}functions/${handler}.ts`;

/**
 * esbuild settings for every function, shared by the CDK construct and the bundle-size check:
 * ESM for Node 24, minified and tree-shaken, the AWS SDK bundled (so each function carries only
 * the clients it imports, at the version we test), and `require` provided for the CommonJS
 * dependencies that ESM output otherwise breaks.
 */
export const BUNDLE = {
  target: 'node24',
  banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
  mainFields: ['module', 'main'],
  /** Loaded only when a count is needed (lib/tokens.ts), from files beside the bundle. */
  external: ['js-tiktoken/ranks/*'],
} as const;

/**
 * Shell commands that put the tokenizer's rank tables beside a bundle as a tiny `node_modules`
 * (the package manifest and the two tables), where the bundle's `import()` finds them.
 */
export function shipRankTables(inputDir: string, outputDir: string): string[] {
  const from = `${inputDir}/node_modules/js-tiktoken`;
  const to = `${outputDir}/node_modules/js-tiktoken`;
  return [
    `mkdir -p "${to}/dist/ranks"`,
    `cp "${from}/package.json" "${to}/package.json"`,
    ...RANK_FILES.map((file) => `cp "${from}/dist/ranks/${file}" "${to}/dist/ranks/${file}"`),
  ];
}

/** The tables `lib/tokens.ts` may load (ESM builds). */
export const RANK_FILES = ['o200k_base.js', 'cl100k_base.js'];

/** What one route's bundle holds: its size and the packages it carries. */
export interface BundleReport {
  handler: string;
  bytes: number;
  gzipBytes: number;
  packages: string[];
}

/**
 * Bundles a route exactly as the CDK construct does (same esbuild options), in memory, and
 * reports its size and the npm packages inside it.
 */
export async function bundleReport(handler: string): Promise<BundleReport> {
  const { build } = await import('esbuild');
  const { gzipSync } = await import('node:zlib');
  const result = await build({
    entryPoints: [entryFor(handler)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE.target,
    minify: true,
    mainFields: [...BUNDLE.mainFields],
    banner: { js: BUNDLE.banner },
    external: [...BUNDLE.external],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  const packages = new Set<string>();
  // What reaches the output: a module only reachable from code that tree shaking removed (a
  // dynamic import in an unused factory) is in the graph but contributes no bytes.
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      if (match?.[1] && bytesInOutput > 0) packages.add(match[1]);
    }
  }
  return {
    handler,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    packages: [...packages].sort(),
  };
}
