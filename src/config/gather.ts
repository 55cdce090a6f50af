import { resolve } from 'node:path';

import { closestKey } from '../shared/closest-key.js';
import { preview } from '../shared/preview.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { isPlainObject } from './formats.js';
import { readStructuredFile } from './read-structured-file.js';
import { CONFIG_SCHEMA } from './schema.js';
import { isLeaf, leaves, nodeAt, type SectionSpec } from './schema-tree.js';
import type { ConfigSources, OverrideValue, Source } from './sources.js';

/** A value some source set for an option, and which source. */
export interface Setting {
  readonly value: unknown;
  readonly source: Source;
}

/** A problem found while reading the sources, tagged with the top-level key it concerns. */
export interface GatherProblem {
  /**
   * The schema's top-level key (`serviceBus`, `clusters`, ...) the problem is under, so a
   * command compiles only the problems of the part it reads; undefined for a key that is not in
   * the schema at all (a misspelt section), which every command reports.
   */
  readonly section?: string;
  readonly problem: ConfigProblem;
}

/** The sources, merged by precedence but not yet validated (compile.ts does that). */
export interface Gathered {
  /** Each option some source set, with the value of the highest-precedence source. */
  readonly settings: ReadonlyMap<string, Setting>;
  /** Unknown options (with the likely intended one) and values where a section belongs. */
  readonly problems: readonly GatherProblem[];
  readonly cwd: string;
  readonly flags: Readonly<Record<string, string>>;
}

/**
 * Step 1 of every command's configuration: defaults < config file < PODBUS_* environment
 * variables < command-line flags, recording where each value came from. A config file that
 * cannot be read, parsed, or does not hold sections is reported alone: what it would have set
 * is unknown, so any other problem could be noise.
 */
export function gather(sources: ConfigSources = {}): Gathered {
  const cwd = sources.cwd ?? process.cwd();
  const flags = sources.flags ?? {};
  const settings = new Map<string, Setting>();
  const problems: GatherProblem[] = [];
  if (sources.file !== undefined) {
    const file = resolve(cwd, sources.file);
    fromFile(readConfigFile(file), file, settings, problems);
  }
  fromEnv(sources.env ?? process.env, settings);
  fromCommandLine(sources.overrides ?? {}, flags, settings, problems);
  return { settings, problems, cwd, flags };
}

function readConfigFile(file: string): Record<string, unknown> {
  const read = readStructuredFile(file);
  if (!read.ok) throw new ConfigError([{ path: '--config', message: read.problem }]);
  if (read.value === null || read.value === undefined) return {};
  if (!isPlainObject(read.value)) {
    throw new ConfigError([
      {
        path: '--config',
        message: `"${file}" must hold a mapping of sections (serviceBus, policy, ...)`,
      },
    ]);
  }
  return read.value;
}

function fromFile(
  content: Record<string, unknown>,
  file: string,
  settings: Map<string, Setting>,
  problems: GatherProblem[],
): void {
  const source: Source = { kind: 'file', file };
  const walk = (node: SectionSpec, value: Record<string, unknown>, prefix: string): void => {
    for (const [key, child] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const spec = Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
      const report = (problem: ConfigProblem): void => {
        problems.push(scoped(path, { ...problem, message: `${problem.message} (in ${file})` }));
      };
      if (spec === undefined) {
        report(unknownOption(path, Object.keys(node), prefix));
      } else if (child === null) {
        // `key:` with nothing after it in YAML: left unset, so the default applies.
        continue;
      } else if (isLeaf(spec)) {
        settings.set(path, { value: child, source });
      } else if (isPlainObject(child)) {
        walk(spec, child, path);
      } else {
        report({
          path,
          message: `must be a section with ${Object.keys(spec).join(', ')}, not ${preview(child)}`,
        });
      }
    }
  };
  walk(CONFIG_SCHEMA, content, '');
}

function fromEnv(
  env: Readonly<Record<string, string | undefined>>,
  settings: Map<string, Setting>,
): void {
  for (const { path, leaf } of leaves(CONFIG_SCHEMA)) {
    const value = env[leaf.env];
    if (value !== undefined) settings.set(path, { value, source: { kind: 'env', name: leaf.env } });
  }
}

function fromCommandLine(
  overrides: Readonly<Record<string, OverrideValue | undefined>>,
  flags: Readonly<Record<string, string>>,
  settings: Map<string, Setting>,
  problems: GatherProblem[],
): void {
  for (const [path, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const node = nodeAt(CONFIG_SCHEMA, path);
    if (node && !isLeaf(node)) {
      problems.push(
        scoped(path, {
          path: `override ${path}`,
          message: `is a section, not an option; set one of ${Object.keys(node)
            .map((k) => `${path}.${k}`)
            .join(', ')}`,
        }),
      );
    } else if (!node) {
      const parent = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
      const parentNode = parent ? nodeAt(CONFIG_SCHEMA, parent) : CONFIG_SCHEMA;
      const siblings = parentNode && !isLeaf(parentNode) ? Object.keys(parentNode) : [];
      const problem = unknownOption(path, siblings, parent);
      problems.push(scoped(path, { ...problem, path: `override ${path}` }));
    } else {
      const flag = flags[path];
      settings.set(path, { value, source: { kind: 'command-line', ...(flag && { flag }) } });
    }
  }
}

function unknownOption(path: string, siblings: readonly string[], parent: string): ConfigProblem {
  const key = path.slice(parent ? parent.length + 1 : 0);
  const suggestion = closestKey(key, siblings);
  return {
    path,
    message: `is not a podbus option${suggestion ? ` (did you mean ${parent ? `${parent}.` : ''}${suggestion}?)` : ''}`,
  };
}

function scoped(path: string, problem: ConfigProblem): GatherProblem {
  const top = path.split('.')[0] ?? path;
  return Object.prototype.hasOwnProperty.call(CONFIG_SCHEMA, top)
    ? { section: top, problem }
    : { problem };
}
