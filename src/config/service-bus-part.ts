import type { ConfigPart, ValidatedOptions } from './compile.js';
import { buildSections } from './compile.js';
import type { ServiceBusSettings } from './config.js';
import type { ConfigProblem } from './config-error.js';
import { connectionStringMembers } from './connection-string.js';
import { envVarFor } from './schema-tree.js';
import { describeSource } from './sources.js';

export const CONNECTION_STRING_ENV = envVarFor('serviceBus.connectionString');

/**
 * The serviceBus section, for every command that talks to the queue. How podbus authenticates
 * to Service Bus is decided here and only here, so `podbus run` and the queue commands accept
 * the same settings and report the same problems.
 */
export const SERVICE_BUS: ConfigPart<ServiceBusSettings> = {
  sections: ['serviceBus'],
  build(options, problems) {
    problems.push(...connectionStringSet(options), ...entityPathMatchesQueue(options));
    return buildSections(options, ['serviceBus']).serviceBus as ServiceBusSettings;
  },
};

/** Required, and a secret: its format is checked by the schema, its presence here. */
function connectionStringSet(options: ValidatedOptions): ConfigProblem[] {
  const path = 'serviceBus.connectionString';
  if (options.broken.has(path) || (options.get(path) as string).trim() !== '') return [];
  const source = options.sourceOf(path);
  return [
    {
      path,
      message: `must be set${source ? ` (set ${describeSource(source)}, but empty)` : ''}`,
      hint: `set ${CONNECTION_STRING_ENV} (e.g. from a Kubernetes Secret; a secret has no command-line flag) or ${path} in the file given with --config`,
    },
  ];
}

/** A queue-scoped connection string (EntityPath=...) only works for that queue. */
function entityPathMatchesQueue(options: ValidatedOptions): ConfigProblem[] {
  const connection = 'serviceBus.connectionString';
  const queuePath = 'serviceBus.queueName';
  if (options.broken.has(connection) || options.broken.has(queuePath)) return [];
  const entity = connectionStringMembers(options.get(connection) as string).get('entitypath');
  const queue = options.get(queuePath) as string;
  if (entity === undefined || entity === queue) return [];
  return [
    {
      path: queuePath,
      message: `is "${queue}" but the connection string is scoped to EntityPath=${entity}`,
      hint: 'use the queue the connection string was issued for, or a namespace-level connection string',
    },
  ];
}
