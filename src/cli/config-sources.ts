import { ConfigError } from '../config/config-error.js';
import type { ConfigSources, OverrideValue } from '../config/sources.js';
import { CliUsageError } from './exit-codes.js';

/** A flag of a command that sets a config option (the flags win over the file and PODBUS_*). */
export interface OptionFlag {
  /** Config path, e.g. `serviceBus.queueName`. */
  readonly path: string;
  /** The flag as a person types it, e.g. `--queue`: named in messages and hints. */
  readonly flag: string;
  /** Undefined when the flag was not given. */
  readonly value: OverrideValue | undefined;
}

/** PODBUS_* variables read by the command line itself rather than the config schema. */
export const CLI_ENV_VARS: readonly string[] = ['PODBUS_CONFIG'];

/**
 * The configuration sources of a command: the config file (`--config`, else PODBUS_CONFIG), the
 * environment, and the command's own flags for options.
 */
export function commandSources(
  config: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  flags: readonly OptionFlag[] = [],
): ConfigSources {
  return {
    file: config ?? env.PODBUS_CONFIG,
    env,
    overrides: Object.fromEntries(flags.map((f) => [f.path, f.value])),
    flags: Object.fromEntries(flags.map((f) => [f.path, f.flag])),
  };
}

/** Loads configuration; its problems are usage errors (printed, exit 2). */
export function configOrUsageError<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliUsageError(error.message);
    throw error;
  }
}
