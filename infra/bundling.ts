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
  /** Loaded only when a count is needed (lib/chat/tokens.ts), from files beside the bundle. */
  external: ['gpt-tokenizer/encoding/*'],
} as const;

/** The encodings `lib/chat/tokens.ts` may load. */
export const ENCODINGS = ['o200k_base', 'cl100k_base'];

/**
 * Shell commands that put the tokenizer's encodings beside a bundle as a tiny `node_modules`:
 * the package manifest (its exports map `encoding/*`) and each encoding bundled into one ESM
 * file by the same esbuild, where the bundle's `import()` finds them.
 */
export function shipRankTables(inputDir: string, outputDir: string): string[] {
  const to = `${outputDir}/node_modules/gpt-tokenizer`;
  return [
    `mkdir -p "${to}/esm/encoding"`,
    `cp "${inputDir}/node_modules/gpt-tokenizer/package.json" "${to}/package.json"`,
    ...ENCODINGS.map(
      (name) =>
        `echo "export * from 'gpt-tokenizer/encoding/${name}';" | (cd "${inputDir}" && node_modules/.bin/esbuild --bundle --format=esm --platform=node --minify --log-level=warning --outfile="${to}/esm/encoding/${name}.js")`,
    ),
  ];
}

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
