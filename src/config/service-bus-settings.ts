import { resolve } from 'node:path';

import { closestKey } from '../message/closest-key.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { connectionStringMembers, connectionStringProblem } from './connection-string.js';
import { isPlainObject } from './formats.js';
import { readStructuredFile } from './read-structured-file.js';
import { CONFIG_SCHEMA } from './schema.js';
import { envVarFor } from './schema-tree.js';

/**
 * Just the Service Bus part of the configuration, for commands that talk to the queue but run
 * no worker (`podbus enqueue`, `podbus dlq`): they must not demand an image allowlist or
 * clusters. Same sources and precedence as loadConfig (config file < PODBUS_* environment <
 * flags), same option names, and the same rule that the connection string is never echoed.
 */
export interface ServiceBusSettings {
  /** Sensitive: never print it. */
  readonly connectionString: string;
  readonly queueName: string;
}

export interface LoadServiceBusSettingsOptions {
  /** The config file (`--config`); only its serviceBus section is read. */
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `--queue`: wins over the file and PODBUS_SERVICE_BUS_QUEUE_NAME. */
  readonly queueName?: string;
  readonly cwd?: string;
}

export const CONNECTION_STRING_ENV = envVarFor('serviceBus.connectionString');
export const QUEUE_NAME_ENV = envVarFor('serviceBus.queueName');

type Origin =
  | { kind: 'default' }
  | { kind: 'file'; file: string }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; flag: string };

/** Throws a ConfigError listing every problem; never includes the connection string. */
export function loadServiceBusSettings(
  options: LoadServiceBusSettingsOptions = {},
): ServiceBusSettings {
  const env = options.env ?? process.env;
  const problems: ConfigProblem[] = [];
  let connectionString = '';
  let csOrigin: Origin = { kind: 'default' };
  let queueName = 'challenges';
  let queueOrigin: Origin = { kind: 'default' };

  if (options.file !== undefined) {
    const file = resolve(options.cwd ?? process.cwd(), options.file);
    const section = readServiceBusSection(file, problems);
    if (section) {
      if (typeof section.connectionString === 'string') {
        connectionString = section.connectionString;
        csOrigin = { kind: 'file', file };
      } else if (section.connectionString !== undefined && section.connectionString !== null) {
        problems.push({
          path: 'serviceBus.connectionString',
          message: `must be a string (in ${file})`,
        });
      }
      if (typeof section.queueName === 'string') {
        queueName = section.queueName;
        queueOrigin = { kind: 'file', file };
      } else if (section.queueName !== undefined && section.queueName !== null) {
        problems.push({ path: 'serviceBus.queueName', message: `must be a string (in ${file})` });
      }
    }
  }
  const envConnection = env[CONNECTION_STRING_ENV];
  if (envConnection !== undefined) {
    connectionString = envConnection;
    csOrigin = { kind: 'env', name: CONNECTION_STRING_ENV };
  }
  const envQueue = env[QUEUE_NAME_ENV];
  if (envQueue !== undefined) {
    queueName = envQueue;
    queueOrigin = { kind: 'env', name: QUEUE_NAME_ENV };
  }
  if (options.queueName !== undefined) {
    queueName = options.queueName;
    queueOrigin = { kind: 'flag', flag: '--queue' };
  }

  const csProblem = connectionStringProblem(connectionString);
  if (csProblem === 'must be set') {
    problems.push({
      path: 'serviceBus.connectionString',
      message: 'must be set',
      hint: `set ${CONNECTION_STRING_ENV} (it is a secret, so there is no command-line flag for it) or serviceBus.connectionString in the file given with --config`,
    });
  } else if (csProblem !== undefined) {
    problems.push({
      path: 'serviceBus.connectionString',
      message: `${csProblem}${describeOrigin(csOrigin)}`,
    });
  }
  if (queueName.trim() === '') {
    problems.push({
      path: 'serviceBus.queueName',
      message: `must not be empty${describeOrigin(queueOrigin)}`,
    });
  }
  if (problems.length === 0) {
    const entity = connectionStringMembers(connectionString).get('entitypath');
    if (entity !== undefined && entity !== queueName) {
      problems.push({
        path: 'serviceBus.queueName',
        message: `is "${queueName}" but the connection string is scoped to EntityPath=${entity}`,
        hint: `use --queue ${entity}, or a namespace-level connection string`,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { connectionString, queueName };
}

function readServiceBusSection(
  file: string,
  problems: ConfigProblem[],
): Record<string, unknown> | undefined {
  const read = readStructuredFile(file);
  if (!read.ok) {
    problems.push({ path: '--config', message: read.problem });
    return undefined;
  }
  if (read.value === null || read.value === undefined) return undefined;
  if (!isPlainObject(read.value)) {
    problems.push({
      path: '--config',
      message: `"${file}" must hold a mapping of sections (serviceBus, policy, ...)`,
    });
    return undefined;
  }
  // The same file configures the worker: other sections are not this command's business, but
  // a misspelt section name is reported, as the worker would.
  const sections = Object.keys(CONFIG_SCHEMA);
  for (const key of Object.keys(read.value)) {
    if (sections.includes(key)) continue;
    const suggestion = closestKey(key, sections);
    problems.push({
      path: key,
      message: `is not a podbus option${suggestion ? ` (did you mean ${suggestion}?)` : ''} (in ${file})`,
    });
  }
  const section = read.value.serviceBus;
  if (section === undefined || section === null) return undefined;
  if (!isPlainObject(section)) {
    problems.push({
      path: 'serviceBus',
      message: `must be a section with connectionString, queueName, ... (in ${file})`,
    });
    return undefined;
  }
  const known = Object.keys(CONFIG_SCHEMA.serviceBus ?? {});
  for (const key of Object.keys(section)) {
    if (known.includes(key)) continue;
    const suggestion = closestKey(key, known);
    problems.push({
      path: `serviceBus.${key}`,
      message: `is not a podbus option${suggestion ? ` (did you mean serviceBus.${suggestion}?)` : ''} (in ${file})`,
    });
  }
  return section;
}

function describeOrigin(origin: Origin): string {
  if (origin.kind === 'file') return ` (set in ${origin.file})`;
  if (origin.kind === 'env') return ` (set from ${origin.name})`;
  if (origin.kind === 'flag') return ` (set with ${origin.flag})`;
  return '';
}
