/**
 * The shape of podbus's convict schema, kept as plain data so the loader, the error messages
 * and the generated reference (docs/configuration.md) all read the same tree.
 */
export type FormatName =
  | 'podbus-int'
  | 'podbus-seconds-or-never'
  | 'podbus-bool'
  | 'podbus-string'
  | 'podbus-enum'
  | 'podbus-string-list'
  | 'podbus-string-map'
  | 'podbus-quantity'
  | 'podbus-connection-string'
  | 'podbus-clusters';

/** One option. Extra members (`min`, `values`, ...) parameterise the convict format. */
export interface LeafSpec {
  readonly doc: string;
  readonly default: unknown;
  readonly format: FormatName;
  /** The environment variable; derived from the path (see envVarFor). */
  readonly env: string;
  readonly sensitive?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  readonly nonEmpty?: boolean;
  /** A file path: relative values resolve against the config file's directory. */
  readonly path?: boolean;
  /** Must be set by the operator (enforced by the format or a cross-check; shown in the docs). */
  readonly required?: boolean;
}

export interface SectionSpec {
  readonly [key: string]: SchemaNode;
}

export type SchemaNode = LeafSpec | SectionSpec;

/** convict's own rule: a node with a `default` is an option, anything else a section. */
export function isLeaf(node: SchemaNode): node is LeafSpec {
  return Object.prototype.hasOwnProperty.call(node, 'default');
}

export interface LeafEntry {
  readonly path: string;
  readonly leaf: LeafSpec;
}

/** Every option with its dotted path, in schema order. */
export function leaves(node: SectionSpec, prefix = ''): LeafEntry[] {
  return Object.entries(node).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return isLeaf(child) ? [{ path, leaf: child }] : leaves(child, path);
  });
}

/** The node at a dotted path, if the schema has one. */
export function nodeAt(root: SectionSpec, path: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  for (const key of path.split('.')) {
    if (!node || isLeaf(node) || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** `serviceBus.maxConcurrentCalls` -> `PODBUS_SERVICE_BUS_MAX_CONCURRENT_CALLS`. */
export function envVarFor(path: string): string {
  const words = path
    .split('.')
    .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase());
  return `PODBUS_${words.join('_')}`;
}
