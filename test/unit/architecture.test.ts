import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

/**
 * The import graph of podbus (src/) and of the emulator packages (packages/<name>/src), held to
 * the shape README.md ("Layers") describes: arrows only point down, the packages stand alone,
 * and the worker reaches the emulators only where the CLI loads them lazily.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The layers of src/, lowest first. A module may import from its own layer and from layers
 * below it, never from one above. A path ending in `/` is a directory; every file under src/
 * must belong to exactly one layer, so a new directory has to be placed here first.
 */
const LAYERS: readonly { readonly name: string; readonly paths: readonly string[] }[] = [
  // Leaf helpers with no podbus knowledge (text previews, typo hints, secret scrubbing, the
  // typed event emitter): anything may use them, they use nothing of podbus.
  { name: 'shared', paths: ['src/shared/'] },
  // Microsoft Entra ID credentials (@azure/identity, loaded lazily) and the Service Bus client
  // made from a connection string or a credential: the one place either is created, for the
  // worker, the queue commands and the clusters' Entra tokens alike.
  { name: 'azure', paths: ['src/azure/'] },
  // The challenge message contract: decode + parse -> ChallengeRequest, the names and pod
  // metadata keys derived from a message. It parses; it decides nothing.
  { name: 'message', paths: ['src/message/'] },
  // What a message may run (images, resources, labels): judges a ChallengeRequest.
  { name: 'policy', paths: ['src/policy/'] },
  // Pure: ChallengeRequest + pod settings and policy defaults -> V1Pod.
  { name: 'pod', paths: ['src/pod/'] },
  // One client per cluster, breakers, capacity, selection, onboarding: speaks V1Pod.
  { name: 'clusters', paths: ['src/clusters/'] },
  // Receives, prepares (parse -> policy -> build), places and settles; says what happened on
  // its typed event map and knows nothing of who listens.
  { name: 'worker', paths: ['src/worker/'] },
  // After a pod ends: follows the pods the worker created (through the clusters' pod watches)
  // to their results and cleanup, one leader per cluster through a Lease. Beside the worker in
  // the data flow (message -> pod -> ... -> result), after it in the layers: it may use what the
  // worker and the clusters offer, and observability listens to it as to them.
  { name: 'results', paths: ['src/results/'] },
  // Listens: the logger, the metrics and log lines the worker's and the clusters' events
  // become, /healthz /readyz /metrics.
  { name: 'observability', paths: ['src/observability/'] },
  // Sources (file, environment, flags) compiled once into the frozen Config, which is made of
  // the settings types of every layer below.
  { name: 'config', paths: ['src/config/'] },
  // The composition root of `podbus run`: config -> cluster pool -> worker, observability
  // subscribed. Wires, decides nothing.
  { name: 'app', paths: ['src/app/'] },
  // `podbus local`: the emulators (known by their types only) and an app, in one process.
  { name: 'local', paths: ['src/local/'] },
  // The commands; the only layer that loads the emulator packages (emulator-packages.ts).
  { name: 'cli', paths: ['src/cli/'] },
  // The executable's entry point.
  { name: 'main', paths: ['src/main.ts'] },
];

const EMULATOR_PACKAGES = [
  '@podbus/servicebus-emulator',
  '@podbus/kubernetes-emulator',
  '@podbus/entra-emulator',
];
/** The one module of src/ that loads the emulator packages at run time (lazily). */
const EMULATOR_LOADER = 'src/cli/emulator-packages.ts';
/** Where src/ may name the emulator packages' types (`import type` only). */
const EMULATOR_TYPES_ALLOWED_IN = 'src/local/';
/**
 * The one module that loads OpenTelemetry (and the Azure SDK's instrumentation for it); it is
 * itself only ever loaded by import() when tracing is on, so a worker without tracing pays
 * nothing for it at start.
 */
const TRACING_MODULE = 'src/observability/tracing.ts';
const OPENTELEMETRY = ['@opentelemetry/', '@azure/opentelemetry-', '@azure/core-tracing'];

interface Edge {
  /** The importing file, relative to the repository root. */
  readonly from: string;
  /** The specifier as written (`undefined` for a dynamic import of a computed specifier). */
  readonly specifier: string | undefined;
  /** The imported file relative to the root, for relative specifiers. */
  readonly to?: string;
  /** `import type`, `export type ... from`, or `typeof import(...)`: gone at run time. */
  readonly typeOnly: boolean;
  readonly dynamic: boolean;
}

/** Every import of one TypeScript file: static, `import type`, re-exports and `import()`. */
function importsOf(file: string, text: string): Edge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const edges: Edge[] = [];
  const add = (node: ts.Node | undefined, typeOnly: boolean, dynamic: boolean) => {
    const specifier = node && ts.isStringLiteralLike(node) ? node.text : undefined;
    const to =
      specifier?.startsWith('.') === true
        ? relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts')
        : undefined;
    edges.push({ from: file, specifier, ...(to !== undefined && { to }), typeOnly, dynamic });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const allTypes =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, allTypes, false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      add(node.moduleSpecifier, node.isTypeOnly, false);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false, true);
    } else if (ts.isImportTypeNode(node)) {
      const literal = ts.isLiteralTypeNode(node.argument) ? node.argument.literal : undefined;
      add(literal, true, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

function edgesOf(files: readonly string[]): Edge[] {
  return files.flatMap((file) => importsOf(file, readFileSync(join(ROOT, file), 'utf8')));
}

function layerOf(file: string): number | undefined {
  const index = LAYERS.findIndex((l) =>
    l.paths.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)),
  );
  return index === -1 ? undefined : index;
}

function describeEdge(edge: Edge): string {
  const kind = edge.dynamic ? 'import()' : edge.typeOnly ? 'import type' : 'import';
  return `${edge.from}: ${kind} ${edge.specifier === undefined ? '<computed>' : `'${edge.specifier}'`}`;
}

const PACKAGES = readdirSync(join(ROOT, 'packages'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => `packages/${e.name}`);

const srcFiles = filesUnder('src');
const srcEdges = edgesOf(srcFiles);

describe('architecture: the import graph', () => {
  it('reads static, type-only, re-exported and dynamic imports', () => {
    const edges = importsOf(
      'src/worker/example.ts',
      [
        "import { a } from './a.js';",
        "import type { B } from '../message/b.js';",
        "import { type C } from '../policy/c.js';",
        "export { d } from './d.js';",
        "type E = typeof import('@podbus/servicebus-emulator');",
        'const f = () => import(`${name}/cli`);',
        "const g = () => import('@podbus/kubernetes-emulator');",
      ].join('\n'),
    );
    expect(edges.map((e) => [e.specifier, e.to, e.typeOnly, e.dynamic])).toEqual([
      ['./a.js', 'src/worker/a.ts', false, false],
      ['../message/b.js', 'src/message/b.ts', true, false],
      ['../policy/c.js', 'src/policy/c.ts', true, false],
      ['./d.js', 'src/worker/d.ts', false, false],
      ['@podbus/servicebus-emulator', undefined, true, false],
      [undefined, undefined, false, true],
      ['@podbus/kubernetes-emulator', undefined, false, true],
    ]);
  });

  it('places every file of src/ in exactly one layer', () => {
    const unplaced = srcFiles.filter((f) => layerOf(f) === undefined);
    const twice = srcFiles.filter(
      (f) =>
        LAYERS.filter((l) => l.paths.some((p) => (p.endsWith('/') ? f.startsWith(p) : f === p)))
          .length > 1,
    );
    expect({ unplaced, twice }).toEqual({ unplaced: [], twice: [] });
  });

  it('has no edge running upward in src/ (each layer imports only its own and lower ones)', () => {
    const upward = srcEdges.flatMap((edge) => {
      if (edge.to === undefined || !edge.to.startsWith('src/')) return [];
      const from = layerOf(edge.from)!;
      const to = layerOf(edge.to);
      if (to === undefined || to <= from) return [];
      return [
        `${describeEdge(edge)} runs upward: ${LAYERS[from]!.name} (layer ${from + 1}) -> ` +
          `${LAYERS[to]!.name} (layer ${to + 1})`,
      ];
    });
    expect(upward).toEqual([]);
  });

  it('reaches the emulator packages only through the CLI loader and, as types, from src/local/', () => {
    const wrong = srcEdges.filter((edge) => {
      const emulator =
        edge.specifier === undefined ||
        EMULATOR_PACKAGES.some((p) => edge.specifier === p || edge.specifier!.startsWith(`${p}/`));
      if (!emulator || edge.from === EMULATOR_LOADER) return false;
      return !(edge.typeOnly && edge.from.startsWith(EMULATOR_TYPES_ALLOWED_IN));
    });
    expect(wrong.map(describeEdge)).toEqual([]);
  });

  it('loads @azure/identity only lazily, from src/azure/credential.ts (types anywhere)', () => {
    const eager = srcEdges.filter(
      (edge) =>
        edge.specifier === '@azure/identity' &&
        !edge.typeOnly &&
        !(edge.dynamic && edge.from === 'src/azure/credential.ts'),
    );
    expect(eager.map(describeEdge)).toEqual([]);
    expect(
      srcEdges.some((e) => e.specifier === '@azure/identity' && e.dynamic && !e.typeOnly),
    ).toBe(true);
  });

  it('loads OpenTelemetry only in the tracing module, and that module only lazily', () => {
    const wrong = srcEdges.filter((edge) => {
      const otel = OPENTELEMETRY.some((p) => edge.specifier?.startsWith(p) === true);
      if (otel) return edge.from !== TRACING_MODULE && !edge.typeOnly;
      return edge.to === TRACING_MODULE && !edge.typeOnly && !edge.dynamic;
    });
    expect(wrong.map(describeEdge)).toEqual([]);
    expect(srcEdges.some((e) => e.to === TRACING_MODULE && e.dynamic)).toBe(true);
  });

  it.each(PACKAGES)('%s/src imports nothing from src/ nor from another package', (pkg) => {
    const files = filesUnder(`${pkg}/src`);
    expect(files.length).toBeGreaterThan(0);
    const own = JSON.parse(readFileSync(join(ROOT, pkg, 'package.json'), 'utf8')) as {
      name: string;
    };
    const wrong = edgesOf(files).filter((edge) => {
      if (edge.specifier === undefined) return true;
      if (edge.to !== undefined) return !edge.to.startsWith(`${pkg}/`);
      const bare = edge.specifier;
      const podbusPackage =
        bare === 'podbus' || bare.startsWith('podbus/') || bare.startsWith('@podbus/');
      return podbusPackage && !(bare === own.name || bare.startsWith(`${own.name}/`));
    });
    expect(wrong.map(describeEdge)).toEqual([]);
  });
});
