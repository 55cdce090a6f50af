import { dirname, resolve } from 'node:path';

import type { ClusterEntry } from '../clusters/cluster-entry.js';
import { validateClusterEntries } from './cluster-entries.js';
import type { AzureIdentitySettings } from '../azure/credential.js';
import { buildSections, type ConfigPart, type ValidatedOptions } from './compile.js';
import type { ClusterSettings, ClustersSource } from './config.js';
import type { ConfigProblem } from './config-error.js';
import { isPlainObject } from './formats.js';
import { readStructuredFile } from './read-structured-file.js';
import { envVarFor } from './schema-tree.js';
import { describeSource, precedenceOf } from './sources.js';

export const CLUSTERS_FILE_ENV = envVarFor('clustersFile');

const FILE = 'clustersFile';
const INLINE = 'clusters';

/** Which clusters the configuration names, without reading them (`podbus clusters add`). */
export const CLUSTERS_SOURCE: ConfigPart<ClustersSource> = {
  sections: [FILE, INLINE],
  build: (options, problems) => chooseSource(options, problems) ?? { kind: 'none' },
};

/** The validated cluster entries (`podbus clusters verify`, and the worker through CONFIG). */
export const CLUSTERS: ConfigPart<ClusterSettings> = {
  // azure: how entries with `auth: { type: azure }` reach Entra ID.
  sections: [FILE, INLINE, 'azure'],
  build(options, problems) {
    const source = chooseSource(options, problems);
    const read = source ? readEntries(source, options, problems) : undefined;
    return read ?? { entries: [], clustersFile: '' };
  },
};

/**
 * clustersFile and clusters are two ways to give one thing, so precedence applies to the pair:
 * the one set by the later source is used (PODBUS_CLUSTERS_FILE replaces the config file's
 * inline clusters; `--clusters-file` replaces both). Both set by the same source is a mistake.
 * Undefined when a problem was reported.
 */
function chooseSource(
  options: ValidatedOptions,
  problems: ConfigProblem[],
): ClustersSource | undefined {
  if (options.broken.has(FILE) || options.broken.has(INLINE)) return undefined;
  const path = options.get(FILE) as string;
  const inline = options.get(INLINE) as readonly unknown[];
  const file = (): ClustersSource => ({ kind: 'file', file: resolve(options.baseDir(FILE), path) });
  const listed = (): ClustersSource => ({
    kind: 'inline',
    raw: inline,
    baseDir: options.baseDir(INLINE),
  });
  if (path === '') return inline.length > 0 ? listed() : { kind: 'none' };
  if (inline.length === 0) return file();
  const fileSource = options.sourceOf(FILE);
  const inlineSource = options.sourceOf(INLINE);
  const order = precedenceOf(fileSource) - precedenceOf(inlineSource);
  if (order !== 0) return order > 0 ? file() : listed();
  const [a, b] = [describeSource(fileSource), describeSource(inlineSource)];
  problems.push({
    path: FILE,
    message: `and clusters are both set ${a === b ? a : `(${FILE} ${a}, ${INLINE} ${b})`}; use one`,
  });
  return undefined;
}

function readEntries(
  source: ClustersSource,
  options: ValidatedOptions,
  problems: ConfigProblem[],
): ClusterSettings | undefined {
  if (source.kind === 'none') {
    const flag = options.flagFor(FILE);
    problems.push({
      path: INLINE,
      message: 'no clusters are configured',
      hint: `set ${FILE} to a YAML or JSON list of clusters (${CLUSTERS_FILE_ENV}${flag ? ` or ${flag}` : ''}), or list them under ${INLINE}`,
    });
    return undefined;
  }
  if (source.kind === 'inline') {
    return settings(
      validateClusterEntries(source.raw, {
        baseDir: source.baseDir,
        identity: identityOf(options),
      }),
      '',
      problems,
    );
  }
  const read = readStructuredFile(source.file);
  if (!read.ok) {
    problems.push({ path: FILE, message: read.problem });
    return undefined;
  }
  const list = isPlainObject(read.value) ? read.value.clusters : read.value;
  if (!Array.isArray(list) || list.length === 0) {
    problems.push({
      path: FILE,
      message: `"${source.file}" must hold a non-empty list of clusters (or a mapping with a clusters list)`,
    });
    return undefined;
  }
  const checked = validateClusterEntries(list, {
    baseDir: dirname(source.file),
    file: source.file,
    identity: identityOf(options),
  });
  return settings(checked, source.file, problems);
}

function settings(
  checked: { entries: ClusterEntry[]; problems: ConfigProblem[] },
  clustersFile: string,
  problems: ConfigProblem[],
): ClusterSettings {
  problems.push(...checked.problems);
  return { entries: checked.entries, clustersFile };
}

function identityOf(options: ValidatedOptions): AzureIdentitySettings {
  return buildSections(options, ['azure']).azure as AzureIdentitySettings;
}
