import { dirname, isAbsolute, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';

import type { ClusterEntry } from '../clusters/cluster-entry.js';
import { validateClusterEntries } from './cluster-entries.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { isPlainObject } from './formats.js';
import { readStructuredFile } from './read-structured-file.js';
import { envVarFor } from './schema-tree.js';

/**
 * Just the cluster part of the configuration, for `podbus clusters add|verify`: they need no
 * Service Bus and no policy. Sources and precedence as loadConfig: the config file's
 * `clustersFile`/`clusters` < PODBUS_CLUSTERS_FILE / PODBUS_CLUSTERS < `--clusters-file`.
 */
export interface ClusterSettingsOptions {
  /** The config file (`--config`); only `clustersFile` and `clusters` are read. */
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `--clusters-file`: wins over everything else. */
  readonly clustersFile?: string;
  readonly cwd?: string;
}

export const CLUSTERS_FILE_ENV = envVarFor('clustersFile');
export const CLUSTERS_ENV = envVarFor('clusters');

export type ClustersSource =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'inline'; readonly raw: readonly unknown[]; readonly baseDir: string }
  | { readonly kind: 'none' };

/**
 * Where the clusters are configured. A clusters file path is absolute; relative ones resolve
 * against the config file's directory (when set there) or `cwd`.
 */
export function resolveClustersSource(options: ClusterSettingsOptions = {}): ClustersSource {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  if (options.clustersFile !== undefined) {
    if (options.clustersFile.trim() === '')
      throw new ConfigError([{ path: '--clusters-file', message: 'needs a file path' }]);
    return { kind: 'file', file: resolve(cwd, options.clustersFile) };
  }
  let source: ClustersSource = { kind: 'none' };
  if (options.file !== undefined) {
    const file = resolve(cwd, options.file);
    const read = readStructuredFile(file);
    if (!read.ok) throw new ConfigError([{ path: '--config', message: read.problem }]);
    if (read.value !== null && read.value !== undefined && !isPlainObject(read.value)) {
      throw new ConfigError([
        {
          path: '--config',
          message: `"${file}" must hold a mapping of sections (serviceBus, policy, ...)`,
        },
      ]);
    }
    const content = (read.value ?? {}) as Record<string, unknown>;
    const problems: ConfigProblem[] = [];
    if (typeof content.clustersFile === 'string' && content.clustersFile !== '') {
      const path = content.clustersFile;
      source = { kind: 'file', file: isAbsolute(path) ? path : resolve(dirname(file), path) };
    } else if (content.clustersFile !== undefined && content.clustersFile !== null) {
      if (content.clustersFile !== '')
        problems.push({ path: 'clustersFile', message: `must be a string (in ${file})` });
    }
    if (Array.isArray(content.clusters) && content.clusters.length > 0) {
      if (source.kind === 'file') {
        problems.push({
          path: 'clustersFile',
          message: `and clusters are both set (in ${file}); use one`,
        });
      }
      source = { kind: 'inline', raw: content.clusters, baseDir: dirname(file) };
    } else if (
      content.clusters !== undefined &&
      content.clusters !== null &&
      !Array.isArray(content.clusters)
    ) {
      problems.push({
        path: 'clusters',
        message: `must be a list of cluster entries (in ${file})`,
      });
    }
    if (problems.length > 0) throw new ConfigError(problems);
  }
  const envFile = env[CLUSTERS_FILE_ENV];
  if (envFile !== undefined && envFile !== '') {
    source = { kind: 'file', file: resolve(cwd, envFile) };
  }
  const envInline = env[CLUSTERS_ENV];
  if (envInline !== undefined && envInline.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = parseYaml(envInline);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed)) {
      throw new ConfigError([
        {
          path: 'clusters',
          message: `must be a JSON list of cluster entries (set from ${CLUSTERS_ENV})`,
        },
      ]);
    }
    source = { kind: 'inline', raw: parsed, baseDir: cwd };
  }
  return source;
}

export interface ClusterSettings {
  readonly entries: readonly ClusterEntry[];
  /** Absolute path of the clusters file, or '' when the entries were inline. */
  readonly clustersFile: string;
}

/** Validated entries (at least one), as loadConfig would produce them; throws ConfigError. */
export function loadClusterSettings(options: ClusterSettingsOptions = {}): ClusterSettings {
  const source = resolveClustersSource(options);
  if (source.kind === 'none') {
    throw new ConfigError([
      {
        path: 'clusters',
        message: 'no clusters are configured',
        hint: `pass --clusters-file, or --config with clustersFile or clusters, or set ${CLUSTERS_FILE_ENV}`,
      },
    ]);
  }
  if (source.kind === 'inline') {
    const checked = validateClusterEntries(source.raw, { baseDir: source.baseDir });
    if (checked.problems.length > 0) throw new ConfigError(checked.problems);
    return { entries: checked.entries, clustersFile: '' };
  }
  const read = readStructuredFile(source.file);
  if (!read.ok) throw new ConfigError([{ path: 'clustersFile', message: read.problem }]);
  const list = isPlainObject(read.value) ? read.value.clusters : read.value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError([
      {
        path: 'clustersFile',
        message: `"${source.file}" must hold a non-empty list of clusters (or a mapping with a clusters list)`,
      },
    ]);
  }
  const checked = validateClusterEntries(list, {
    baseDir: dirname(source.file),
    file: source.file,
  });
  if (checked.problems.length > 0) throw new ConfigError(checked.problems);
  return { entries: checked.entries, clustersFile: source.file };
}
