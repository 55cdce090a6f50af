import { closestKey } from '../shared/closest-key.js';
import { CONFIG_SCHEMA } from './schema.js';
import { leaves } from './schema-tree.js';

export interface UnknownEnvVar {
  readonly name: string;
  /** The podbus variable it most likely meant, if any. */
  readonly suggestion?: string;
}

/**
 * PODBUS_* variables that set no option (typos such as PODBUS_SERVICEBUS_QUEUE_NAME). Not an
 * error in loadConfig, because other tools (scripts, emulators) use the same prefix for their
 * own variables; the CLI can print these as warnings.
 */
export function unknownEnvVars(env: Readonly<Record<string, string | undefined>>): UnknownEnvVar[] {
  const known = leaves(CONFIG_SCHEMA).map(({ leaf }) => leaf.env);
  return Object.keys(env)
    .filter((name) => name.startsWith('PODBUS_') && !known.includes(name))
    .sort()
    .map((name) => {
      const suggestion = closestKey(name, known);
      return suggestion ? { name, suggestion } : { name };
    });
}
