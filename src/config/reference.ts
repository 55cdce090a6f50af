import { CROSS_CHECK_DOCS } from './checks.js';
import { CLUSTER_FIELDS } from './cluster-entries.js';
import { CONFIG_SCHEMA, SECTION_DOCS } from './schema.js';
import { leaves } from './schema-tree.js';
import type { LeafSpec } from './schema-tree.js';

/** One option of the configuration, as documented. */
export interface ConfigOptionRow {
  /** Dotted config path, e.g. `serviceBus.queueName` (also the key of an override). */
  readonly path: string;
  readonly env: string;
  /** The default as shown to people: `8`, `"challenges"`, `[]`, or `required`. */
  readonly default: string;
  readonly type: string;
  readonly doc: string;
  readonly sensitive: boolean;
  readonly required: boolean;
}

/** Every option, in schema order: the source of docs/configuration.md. */
export function describeConfigSchema(): ConfigOptionRow[] {
  return leaves(CONFIG_SCHEMA).map(({ path, leaf }) => ({
    path,
    env: leaf.env,
    default: leaf.required ? 'required' : JSON.stringify(leaf.default),
    type: typeOf(leaf),
    doc: leaf.doc,
    sensitive: leaf.sensitive === true,
    required: leaf.required === true,
  }));
}

function typeOf(leaf: LeafSpec): string {
  switch (leaf.format) {
    case 'podbus-int':
      return leaf.max !== undefined
        ? `integer, ${leaf.min ?? 0} to ${leaf.max}`
        : `integer, at least ${leaf.min ?? 0}`;
    case 'podbus-seconds-or-never':
      return `seconds (integer, at least ${leaf.min ?? 0}) or \`never\``;
    case 'podbus-bool':
      return 'boolean';
    case 'podbus-string':
      return leaf.path ? 'file path' : 'string';
    case 'podbus-enum':
      return `one of ${(leaf.values ?? []).map((v) => `\`${v}\``).join(', ')}`;
    case 'podbus-string-list':
      return 'list of strings';
    case 'podbus-string-map':
      return 'map of strings';
    case 'podbus-quantity':
      return 'Kubernetes quantity';
    case 'podbus-connection-string':
      return 'Service Bus connection string';
    case 'podbus-clusters':
      return 'list of cluster entries';
  }
}

const REGENERATE = 'UPDATE_DOCS=1 npm test -- test/unit/config/reference';

/**
 * docs/configuration.md. A unit test fails when the file differs from this (after prettier), so
 * the reference cannot drift from the schema.
 */
export function renderConfigurationReference(): string {
  const rows = describeConfigSchema();
  const sections = [...new Set(rows.map((r) => sectionOf(r.path)))];
  return [
    '# Configuration reference',
    '',
    `<!-- Generated from src/config/schema.ts by src/config/reference.ts; do not edit by hand. Regenerate: ${REGENERATE} -->`,
    '',
    ...INTRO,
    '',
    '## All options',
    '',
    renderOptionsTable(rows),
    '',
    ...sections.flatMap((section) => renderSection(section, rows)),
    '## Cluster entries',
    '',
    'Each entry of `clusters`, or of the list in `clustersFile`, describes one target cluster:',
    '',
    '| Field | Default | Description |',
    '| --- | --- | --- |',
    ...CLUSTER_FIELDS.map(
      (f) => `| \`${f.name}\` | ${f.default === undefined ? '' : `\`${f.default}\``} | ${f.doc} |`,
    ),
    '',
    'Relative `tokenFile` and `caFile` paths resolve against the directory of the file that names them (the clusters file, or the config file for inline entries); those from environment variables or flags against the working directory. podbus checks at startup that they are readable but reads the token only when it connects, and re-reads it when it changes.',
    '',
    '## Checks across options',
    '',
    'Besides the type and range of each option, podbus checks at startup:',
    '',
    ...CROSS_CHECK_DOCS.map((rule) => `- ${rule}`),
    '',
  ].join('\n');
}

/**
 * The table of every option with its environment variable and default: part of
 * docs/configuration.md, and embedded in the README between the config-reference markers.
 */
export function renderOptionsTable(
  rows: readonly ConfigOptionRow[] = describeConfigSchema(),
): string {
  return [
    '| Option | Environment variable | Default |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| \`${r.path}\` | \`${r.env}\` | ${cell(r.default)} |`),
  ].join('\n');
}

const INTRO = [
  'podbus reads its configuration once, at startup, into one validated, read-only object. Sources, from lowest to highest precedence:',
  '',
  '1. the defaults below;',
  '2. the config file given with `--config` (YAML or JSON, sections as below; see `examples/podbus.yaml`);',
  "3. environment variables `PODBUS_*` (each option's name is its path in upper snake case);",
  '4. command-line flags, such as `--queue` or `--clusters-file` (see [cli.md](cli.md)).',
  '',
  'Every command reads these sources the same way and checks the part of the configuration it uses: `podbus run` and `podbus local` all of it, `podbus enqueue` and `podbus dlq` the `serviceBus` and `azure` sections, `podbus clusters` `clustersFile`, `clusters` and `azure`. Problems in sections a command does not use are left to the commands that use them; a misspelt section name is reported by every command.',
  '',
  'In environment variables, lists are comma-separated (or a JSON list), maps are `name=value,name=value` (or a JSON object), booleans are `true`/`false`, and `PODBUS_CLUSTERS` is a JSON list of cluster entries.',
  '',
  'Unknown keys are errors, and so is any value of the wrong type. When anything is wrong, podbus prints every problem with its option path, the value (unless it is sensitive) and where it came from, and exits with status 2 before connecting anywhere. Sensitive options are never logged or shown in errors.',
];

function renderSection(section: string, rows: readonly ConfigOptionRow[]): string[] {
  const own = rows.filter((r) => sectionOf(r.path) === section);
  return [
    `## ${section}`,
    '',
    SECTION_DOCS[section] ?? '',
    '',
    ...own.flatMap((r) => [
      `### \`${r.path}\``,
      '',
      r.doc,
      '',
      `- Type: ${r.type}`,
      `- Default: ${r.required ? 'none, required' : `\`${r.default}\``}`,
      `- Environment variable: \`${r.env}\``,
      ...(r.sensitive ? ['- Sensitive: never logged or shown in errors'] : []),
      '',
    ]),
  ];
}

/** `clusters` and `clustersFile` are top-level options documented together. */
function sectionOf(path: string): string {
  const top = path.split('.')[0] ?? path;
  return top === 'clustersFile' ? 'clusters' : top;
}

function cell(value: string): string {
  return value === 'required' ? 'required' : `\`${value.replace(/\|/g, '\\|')}\``;
}
