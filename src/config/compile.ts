import { dirname } from 'node:path';

import convict from 'convict';

import { preview } from '../shared/preview.js';
import { scrubText } from '../shared/redaction.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { parseConvictErrors } from './convict-errors.js';
import { deepFreeze } from './deep-freeze.js';
import { isPlainObject, registerFormats } from './formats.js';
import type { Gathered } from './gather.js';
import { CONFIG_SCHEMA } from './schema.js';
import { isLeaf, leaves, nodeAt, type LeafSpec, type SectionSpec } from './schema-tree.js';
import { describeSource, type Source } from './sources.js';

/**
 * A part of the schema that a command needs, and how to build its typed value: the whole Config
 * for `podbus run`, just the Service Bus settings for `podbus enqueue`, just the clusters for
 * `podbus clusters` (see load-config.ts). Parts compose: the whole Config builds with the others.
 */
export interface ConfigPart<T> {
  /** The schema's top-level keys this part reads; only their problems are reported. */
  readonly sections: readonly string[];
  /**
   * Builds the value from options that passed their own format checks, adding to `problems`
   * what needs more than one option (or a file) to see. The value is discarded when any problem
   * was reported, so it may hold placeholders then.
   */
  build(options: ValidatedOptions, problems: ConfigProblem[]): T;
}

/** The part's options after validation, with what the messages need to know about them. */
export interface ValidatedOptions {
  /** Typed value: the default, or that of the highest-precedence source that set it. */
  get(path: string): unknown;
  /** Where the value came from; undefined for the default. */
  sourceOf(path: string): Source | undefined;
  /** Options whose value failed validation: checks that need them skip (one mistake, one line). */
  readonly broken: ReadonlySet<string>;
  /** Directory a relative path set at `path` resolves against: the config file's, else cwd. */
  baseDir(path: string): string;
  /** The command's flag for `path`, if it has one. */
  flagFor(path: string): string | undefined;
}

/**
 * Step 2: validates the part's options (type, range, format), builds its value and returns it
 * deeply frozen; or throws one ConfigError with every problem, from the sources and from the
 * build, each with its path, where the value came from and, when useful, a fix. A sensitive
 * value never appears in a problem.
 */
export function compile<T>(gathered: Gathered, part: ConfigPart<T>): T {
  const problems = gathered.problems
    .filter(({ section }) => section === undefined || part.sections.includes(section))
    .map(({ problem }) => problem);
  const { options, invalid } = validate(gathered, part.sections);
  problems.push(...invalid);
  const value = part.build(options, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(value);
}

/**
 * The plain tree of every option under `sections`, for parts whose value has the shape of the
 * schema. Quantities may be YAML numbers (cpu: 1); the Config holds them as strings.
 */
export function buildSections(
  options: ValidatedOptions,
  sections: readonly string[],
): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const { path, leaf } of leaves(schemaOf(sections))) {
    const value = options.get(path);
    setPath(tree, path, leaf.format === 'podbus-quantity' ? String(value) : value);
  }
  return tree;
}

/** convict's per-option validation, re-worded with the value (unless sensitive) and its source. */
function validate(
  gathered: Gathered,
  sections: readonly string[],
): { options: ValidatedOptions; invalid: ConfigProblem[] } {
  registerFormats();
  const schema = schemaOf(sections);
  // convict gets an empty environment and no argv: gather.ts has applied both, recording which
  // variable or flag set each value.
  const config = convict(schema as convict.Schema<Record<string, unknown>>, { env: {}, args: [] });
  const inPart = new Set(leaves(schema).map(({ path }) => path));
  for (const [path, { value }] of gathered.settings) {
    if (!inPart.has(path)) continue;
    config.set(path as never, toConvict(nodeAt(CONFIG_SCHEMA, path) as LeafSpec, value) as never);
  }
  const get = (path: string): unknown => plain(config.get(path as never));
  const sourceOf = (path: string): Source | undefined => gathered.settings.get(path)?.source;
  const invalid = problemsOf(config, get, sourceOf);
  const options: ValidatedOptions = {
    get,
    sourceOf,
    broken: new Set(invalid.map((p) => p.path)),
    baseDir: (path) => {
      const source = sourceOf(path);
      return source?.kind === 'file' ? dirname(source.file) : gathered.cwd;
    },
    flagFor: (path) => gathered.flags[path],
  };
  return { options, invalid };
}

function problemsOf(
  config: convict.Config<Record<string, unknown>>,
  get: (path: string) => unknown,
  sourceOf: (path: string) => Source | undefined,
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
      const value = leaf ? get(path) : undefined;
      const source = sourceOf(path);
      const showValue = leaf && !leaf.sensitive && value !== '' && value !== undefined;
      const from = source ? ` ${describeSource(source)}` : ', the default';
      let note = '';
      if (showValue) note = ` (got ${preview(value, scrubText)}${from})`;
      else if (source) note = ` (set${from})`;
      return { path, message: `${message}${note}` };
    });
  }
}

/** The schema cut down to some of its top-level keys. */
function schemaOf(sections: readonly string[]): SectionSpec {
  return Object.fromEntries(
    sections.flatMap((key) => {
      const node = CONFIG_SCHEMA[key];
      return node ? [[key, node]] : [];
    }),
  );
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
 * formats.ts) and turned back into plain objects when read.
 */
function toConvict(leaf: LeafSpec, value: unknown): unknown {
  return leaf.format === 'podbus-string-map' && isPlainObject(value)
    ? new Map(Object.entries(value))
    : value;
}

function plain(value: unknown): unknown {
  return value instanceof Map ? Object.fromEntries(value) : value;
}
