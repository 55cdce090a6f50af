import { dirname, isAbsolute, resolve } from 'node:path';

import convict from 'convict';

import type { ClusterEntry } from '../clusters/cluster-entry.js';
import { closestKey } from '../message/closest-key.js';
import { preview } from '../message/preview.js';
import { scrubText } from '../observability/redaction.js';
import { crossChecks } from './checks.js';
import { validateClusterEntries } from './cluster-entries.js';
import type { Config } from './config.js';
import { ConfigError } from './config-error.js';
import type { ConfigProblem } from './config-error.js';
import { parseConvictErrors } from './convict-errors.js';
import { deepFreeze } from './deep-freeze.js';
import { isPlainObject, registerFormats } from './formats.js';
import { readStructuredFile } from './read-structured-file.js';
import { CONFIG_SCHEMA } from './schema.js';
import { isLeaf, leaves, nodeAt } from './schema-tree.js';
import type { LeafSpec, SectionSpec } from './schema-tree.js';

export interface LoadConfigOptions {
  /** Config file (YAML or JSON), e.g. from `--config`. */
  readonly file?: string;
  /** Environment to read PODBUS_* variables from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Command-line overrides keyed by config path, e.g. `{ 'log.level': 'debug' }`. */
  readonly overrides?: Readonly<Record<string, string | number | boolean>>;
  /** Directory relative paths from the environment and overrides resolve against. */
  readonly cwd?: string;
}

/** Where an option's value came from, for error messages and relative paths. */
type Source =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'override' };

/**
 * Builds the one Config of a process: defaults < config file < PODBUS_* environment variables
 * < overrides, validated strictly. Throws a ConfigError listing every problem (path, what is
 * wrong, where the value came from, how to fix it) and never a sensitive value. Reads files
 * (the config file, the clusters file, and checks that token/CA files are readable) but
 * connects to nothing.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  registerFormats();
  const cwd = options.cwd ?? process.cwd();
  // convict gets an empty environment and no argv: podbus applies both itself, after the file,
  // so it can tell the person which variable or override set a bad value.
  const config = convict(CONFIG_SCHEMA as convict.Schema<Record<string, unknown>>, {
    env: {},
    args: [],
  });
  const sources = new Map<string, Source>();
  const problems: ConfigProblem[] = [];

  if (options.file !== undefined) {
    const file = resolve(cwd, options.file);
    const read = readStructuredFile(file);
    if (!read.ok) throw new ConfigError([{ path: '--config', message: read.problem }]);
    problems.push(...applyFile(config, read.value, { kind: 'file', file }, sources));
  }
  applyEnv(config, options.env ?? process.env, sources);
  problems.push(...applyOverrides(config, options.overrides ?? {}, sources));

  const invalid = validate(config, sources);
  problems.push(...invalid);
  const broken = new Set(invalid.map((p) => p.path));
  const get = (path: string): unknown => plain(config.get(path as never));
  problems.push(...crossChecks(get, broken));

  const baseDir = (path: string): string => {
    const source = sources.get(path);
    return source?.kind === 'file' ? dirname(source.file) : cwd;
  };
  const clusters =
    broken.has('clusters') || broken.has('clustersFile')
      ? { entries: [], clustersFile: '', problems: [] }
      : resolveClusters(get('clusters') as unknown[], get('clustersFile') as string, baseDir);
  problems.push(...clusters.problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return build(get, clusters.entries, clusters.clustersFile);
}

function applyFile(
  config: convict.Config<Record<string, unknown>>,
  content: unknown,
  source: Source,
  sources: Map<string, Source>,
): ConfigProblem[] {
  if (content === null || content === undefined) return [];
  if (!isPlainObject(content)) {
    throw new ConfigError([
      {
        path: '--config',
        message: 'the file must hold a mapping of sections (serviceBus, policy, ...)',
      },
    ]);
  }
  const problems: ConfigProblem[] = [];
  const walk = (node: SectionSpec, value: Record<string, unknown>, prefix: string): void => {
    for (const [key, child] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const spec = Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
      if (spec === undefined) {
        problems.push(unknownOption(path, Object.keys(node), prefix));
      } else if (child === null) {
        // `key:` with nothing after it in YAML: left unset, so the default applies.
        continue;
      } else if (isLeaf(spec)) {
        config.set(path as never, toConvict(spec, child) as never);
        sources.set(path, source);
      } else if (isPlainObject(child)) {
        walk(spec, child, path);
      } else {
        problems.push({
          path,
          message: `must be a section with ${Object.keys(spec).join(', ')}, not ${preview(child)}`,
        });
      }
    }
  };
  walk(CONFIG_SCHEMA, content, '');
  return problems;
}

function applyEnv(
  config: convict.Config<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
  sources: Map<string, Source>,
): void {
  for (const { path, leaf } of leaves(CONFIG_SCHEMA)) {
    const value = env[leaf.env];
    if (value === undefined) continue;
    config.set(path as never, value as never);
    sources.set(path, { kind: 'env', name: leaf.env });
  }
}

function applyOverrides(
  config: convict.Config<Record<string, unknown>>,
  overrides: Readonly<Record<string, string | number | boolean>>,
  sources: Map<string, Source>,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [path, value] of Object.entries(overrides)) {
    const node = nodeAt(CONFIG_SCHEMA, path);
    if (node && !isLeaf(node)) {
      problems.push({
        path: `override ${path}`,
        message: `is a section, not an option; set one of ${Object.keys(node)
          .map((k) => `${path}.${k}`)
          .join(', ')}`,
      });
      continue;
    }
    if (!node) {
      const parent = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
      const parentNode = parent ? nodeAt(CONFIG_SCHEMA, parent) : CONFIG_SCHEMA;
      const siblings = parentNode && !isLeaf(parentNode) ? Object.keys(parentNode) : [];
      problems.push({ ...unknownOption(path, siblings, parent), path: `override ${path}` });
      continue;
    }
    config.set(path as never, value as never);
    sources.set(path, { kind: 'override' });
  }
  return problems;
}

function unknownOption(path: string, siblings: readonly string[], parent: string): ConfigProblem {
  const key = path.slice(parent ? parent.length + 1 : 0);
  const suggestion = closestKey(key, siblings);
  return {
    path,
    message: `is not a podbus option${suggestion ? ` (did you mean ${parent ? `${parent}.` : ''}${suggestion}?)` : ''}`,
  };
}

/** convict's per-option validation, re-worded with the value (unless sensitive) and its source. */
function validate(
  config: convict.Config<Record<string, unknown>>,
  sources: ReadonlyMap<string, Source>,
): ConfigProblem[] {
  try {
    config.validate({ allowed: 'strict' });
    return [];
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const order = new Map(leaves(CONFIG_SCHEMA).map(({ path }, index) => [path, index]));
    const rank = (path: string): number => order.get(path) ?? order.size;
    const found = parseConvictErrors(text).sort((a, b) => rank(a.path) - rank(b.path));
    return found.map(({ path, message }) => {
      const node = nodeAt(CONFIG_SCHEMA, path);
      const leaf = node && isLeaf(node) ? node : undefined;
      const value = leaf ? config.get(path as never) : undefined;
      const showValue = leaf && !leaf.sensitive && value !== '' && value !== undefined;
      const got = showValue
        ? ` (got ${preview(plain(value), scrubText)}${describeSource(sources.get(path))})`
        : sourceOnly(sources.get(path));
      return { path, message: `${message}${got}`, ...(leaf ? hintFor(path, message) : {}) };
    });
  }
}

function describeSource(source: Source | undefined): string {
  if (!source) return ', the default';
  if (source.kind === 'file') return ` in ${source.file}`;
  if (source.kind === 'env') return ` from ${source.name}`;
  return ' from a command-line override';
}

function sourceOnly(source: Source | undefined): string {
  return source ? ` (set${describeSource(source)})` : '';
}

function hintFor(path: string, message: string): { hint?: string } {
  if (path === 'serviceBus.connectionString' && message === 'must be set') {
    return {
      hint: 'set PODBUS_SERVICE_BUS_CONNECTION_STRING (e.g. from a Kubernetes Secret) or serviceBus.connectionString in the config file',
    };
  }
  return {};
}

function resolveClusters(
  inline: readonly unknown[],
  clustersFile: string,
  baseDir: (path: string) => string,
): { entries: ClusterEntry[]; clustersFile: string; problems: ConfigProblem[] } {
  if (clustersFile !== '' && inline.length > 0) {
    return {
      entries: [],
      clustersFile: '',
      problems: [{ path: 'clustersFile', message: 'and clusters are both set; use one' }],
    };
  }
  if (clustersFile === '') {
    if (inline.length === 0) {
      return {
        entries: [],
        clustersFile: '',
        problems: [
          {
            path: 'clusters',
            message: 'no clusters are configured',
            hint: 'set clustersFile to a YAML or JSON list of clusters (PODBUS_CLUSTERS_FILE), or list them under clusters',
          },
        ],
      };
    }
    const checked = validateClusterEntries(inline, { baseDir: baseDir('clusters') });
    return { ...checked, clustersFile: '' };
  }
  const file = isAbsolute(clustersFile)
    ? clustersFile
    : resolve(baseDir('clustersFile'), clustersFile);
  const read = readStructuredFile(file);
  if (!read.ok)
    return {
      entries: [],
      clustersFile: file,
      problems: [{ path: 'clustersFile', message: read.problem }],
    };
  const list = isPlainObject(read.value) ? read.value.clusters : read.value;
  if (!Array.isArray(list) || list.length === 0) {
    return {
      entries: [],
      clustersFile: file,
      problems: [
        {
          path: 'clustersFile',
          message: `"${file}" must hold a non-empty list of clusters (or a mapping with a clusters list)`,
        },
      ],
    };
  }
  const checked = validateClusterEntries(list, { baseDir: dirname(file), file });
  return { ...checked, clustersFile: file };
}

function build(
  get: (path: string) => unknown,
  clusters: ClusterEntry[],
  clustersFile: string,
): Config {
  const tree: Record<string, unknown> = {};
  for (const { path, leaf } of leaves(CONFIG_SCHEMA)) {
    if (path === 'clusters' || path === 'clustersFile') continue;
    const value = plain(get(path));
    // Quantities may be YAML numbers (cpu: 1); the Config holds them as strings.
    setPath(tree, path, leaf.format === 'podbus-quantity' ? String(value) : value);
  }
  return deepFreeze({ ...tree, clustersFile, clusters } as unknown as Config);
}

function setPath(tree: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = tree;
  for (const key of keys) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[last] = value;
}

/**
 * convict's validate flattens object values by splitting their keys on "." and fails on map keys
 * like "example.com/owner"; string maps are therefore held as Map objects inside convict (see
 * formats.ts) and turned back into plain objects here.
 */
function toConvict(leaf: LeafSpec, value: unknown): unknown {
  return leaf.format === 'podbus-string-map' && isPlainObject(value)
    ? new Map(Object.entries(value))
    : value;
}

function plain(value: unknown): unknown {
  return value instanceof Map ? Object.fromEntries(value) : value;
}
