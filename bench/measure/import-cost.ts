import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What importing one module costs a fresh process, over bare Node (bytes, after a full GC). */
export interface ImportCost {
  readonly module: string;
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

/**
 * The worker's own entry point and the dependencies it loads at start, each imported alone.
 * Shared dependencies (undici under client-node, for one) count in each that loads them, so
 * the figures overlap and do not add up to the worker's.
 */
export const IMPORTED_AT_START = [
  './dist/app/worker-app.js',
  '@kubernetes/client-node',
  '@azure/service-bus',
  'undici',
  'prom-client',
  'ajv',
  'yaml',
  'pino',
  'commander',
  'convict',
] as const;

/**
 * What the idle worker's memory is made of: each module imported alone in a fresh Node process
 * (with `nodeOptions`, as the worker runs), its RSS and heap after a full GC less bare Node's.
 */
export function importCosts(nodeOptions: string): { bare: ImportCost; modules: ImportCost[] } {
  const bare = measureImport(undefined, nodeOptions);
  const modules = IMPORTED_AT_START.map((module) => {
    const cost = measureImport(module, nodeOptions);
    return {
      module,
      rss: cost.rss - bare.rss,
      heapUsed: cost.heapUsed - bare.heapUsed,
      external: cost.external - bare.external,
    };
  });
  return { bare, modules };
}

function measureImport(module: string | undefined, nodeOptions: string): ImportCost {
  const script = `
    ${module === undefined ? '' : `await import(${JSON.stringify(module)});`}
    await new Promise((resolve) => setTimeout(resolve, 200));
    globalThis.gc();
    const { rss, heapUsed, external } = process.memoryUsage();
    process.stdout.write(JSON.stringify({ rss, heapUsed, external }));
  `;
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', '--input-type=module', '--eval', script],
    { cwd: repo, env: { ...process.env, NODE_OPTIONS: nodeOptions }, encoding: 'utf8' },
  );
  return { module: module ?? 'node', ...(JSON.parse(output) as Omit<ImportCost, 'module'>) };
}
