/**
 * Where configuration comes from. Precedence, lowest first: the schema's defaults < the config
 * file (`--config`) < PODBUS_* environment variables < command-line flags. Every command reads
 * the same sources the same way (gather.ts) and compiles the part of the schema it needs
 * (compile.ts).
 */
export interface ConfigSources {
  /** Config file (YAML or JSON), e.g. from `--config`. */
  readonly file?: string;
  /** Environment to read PODBUS_* variables from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Command-line values keyed by config path, e.g. `{ 'serviceBus.queueName': 'q' }`; an
   * undefined value is a flag that was not given.
   */
  readonly overrides?: Readonly<Record<string, OverrideValue | undefined>>;
  /**
   * The command's flag for a config path, e.g. `{ 'serviceBus.queueName': '--queue' }`: messages
   * name the flag a value came from, and hints name the flag that can set a missing value.
   */
  readonly flags?: Readonly<Record<string, string>>;
  /** Directory relative paths from the environment and the command line resolve against. */
  readonly cwd?: string;
}

export type OverrideValue = string | number | boolean;

/** Where an option's value came from, for error messages and relative paths. */
export type Source =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'command-line'; readonly flag?: string };

/** Higher wins: a value from a later source replaces one from an earlier source. */
export function precedenceOf(source: Source | undefined): number {
  if (source === undefined) return 0;
  return { file: 1, env: 2, 'command-line': 3 }[source.kind];
}

/** `in /etc/podbus.yaml`, `from PODBUS_LOG_LEVEL`, `from --queue`: one wording everywhere. */
export function describeSource(source: Source | undefined): string {
  if (source === undefined) return 'the default';
  if (source.kind === 'file') return `in ${source.file}`;
  if (source.kind === 'env') return `from ${source.name}`;
  return `from ${source.flag ?? 'a command-line override'}`;
}
