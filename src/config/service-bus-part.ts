import { CREDENTIAL_KINDS, type AzureIdentitySettings } from '../azure/credential.js';
import type { ConfigPart, ValidatedOptions } from './compile.js';
import { buildSections } from './compile.js';
import type { ServiceBusSettings } from './config.js';
import type { ConfigProblem } from './config-error.js';
import { connectionStringMembers } from './connection-string.js';
import { envVarFor } from './schema-tree.js';
import { describeSource } from './sources.js';

export const CONNECTION_STRING_ENV = envVarFor('serviceBus.connectionString');
export const NAMESPACE_ENV = envVarFor('serviceBus.fullyQualifiedNamespace');
export const CREDENTIAL_ENV = envVarFor('serviceBus.credential');

const CONNECTION = 'serviceBus.connectionString';
const NAMESPACE = 'serviceBus.fullyQualifiedNamespace';
const CREDENTIAL = 'serviceBus.credential';

/**
 * The serviceBus section (with the azure section its credentials read), for every command that
 * talks to the queue. How podbus authenticates to Service Bus is decided here and only here, so
 * `podbus run` and the queue commands accept the same settings and report the same problems.
 */
export const SERVICE_BUS: ConfigPart<ServiceBusSettings> = {
  sections: ['serviceBus', 'azure'],
  build(options, problems) {
    problems.push(...exactlyOneWayToConnect(options), ...entityPathMatchesQueue(options));
    const tree = buildSections(options, ['serviceBus', 'azure']);
    const section = tree.serviceBus as Record<string, unknown>;
    const common = {
      queueName: section.queueName as string,
      maxConcurrentCalls: section.maxConcurrentCalls as number,
      maxAutoLockRenewalDurationMs: section.maxAutoLockRenewalDurationMs as number,
    };
    const namespace = (section.fullyQualifiedNamespace as string).trim();
    if (namespace === '') {
      return { ...common, connectionString: section.connectionString as string };
    }
    return {
      ...common,
      fullyQualifiedNamespace: namespace,
      credential: section.credential as (typeof CREDENTIAL_KINDS)[number],
      identity: tree.azure as AzureIdentitySettings,
    };
  },
};

const BOTH_WAYS = `set ${CONNECTION_STRING_ENV} (a shared access key, e.g. from a Kubernetes Secret; a secret has no command-line flag), or ${NAMESPACE_ENV} with ${CREDENTIAL_ENV} (Microsoft Entra ID: ${CREDENTIAL_KINDS.join(', ')}), or the same options in the file given with --config`;

/** A connection string, or the namespace with a credential: one of them, completely. */
function exactlyOneWayToConnect(options: ValidatedOptions): ConfigProblem[] {
  if ([CONNECTION, NAMESPACE, CREDENTIAL].some((path) => options.broken.has(path))) return [];
  const connection = (options.get(CONNECTION) as string).trim();
  const namespace = (options.get(NAMESPACE) as string).trim();
  const credential = options.get(CREDENTIAL) as string;
  const where = (path: string): string => {
    const source = options.sourceOf(path);
    return source ? ` (${describeSource(source)})` : '';
  };
  if (connection !== '' && namespace !== '') {
    return [
      {
        path: 'serviceBus',
        message: `connectionString${where(CONNECTION)} and fullyQualifiedNamespace${where(NAMESPACE)} are both set; use one`,
        hint: 'a connection string authenticates with its key; fullyQualifiedNamespace with serviceBus.credential authenticates with Microsoft Entra ID',
      },
    ];
  }
  if (connection === '' && namespace === '') {
    if (credential !== '') {
      return [
        {
          path: NAMESPACE,
          message: `must be set with serviceBus.credential${where(CREDENTIAL)}`,
          hint: `set ${NAMESPACE_ENV} to <namespace>.servicebus.windows.net`,
        },
      ];
    }
    const source = options.sourceOf(CONNECTION);
    return [
      {
        path: 'serviceBus',
        message: `needs connectionString or fullyQualifiedNamespace${source ? ` (connectionString set ${describeSource(source)}, but empty)` : ''}`,
        hint: BOTH_WAYS,
      },
    ];
  }
  if (connection !== '') {
    return credential === ''
      ? []
      : [
          {
            path: CREDENTIAL,
            message: `is set${where(CREDENTIAL)} but serviceBus.connectionString authenticates with its key`,
            hint: `remove serviceBus.credential, or use fullyQualifiedNamespace instead of the connection string`,
          },
        ];
  }
  const problems: ConfigProblem[] = [];
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/i.test(namespace)) {
    problems.push({
      path: NAMESPACE,
      message: `must be a host name such as mynamespace.servicebus.windows.net, without sb:// or a path (got "${namespace}"${where(NAMESPACE)})`,
    });
  }
  if (credential === '') {
    problems.push({
      path: CREDENTIAL,
      message: 'must be set with serviceBus.fullyQualifiedNamespace',
      hint: `set ${CREDENTIAL_ENV} to one of ${CREDENTIAL_KINDS.join(', ')} (workload-identity in AKS with Azure Workload Identity)`,
    });
  }
  return problems;
}

/** A queue-scoped connection string (EntityPath=...) only works for that queue. */
function entityPathMatchesQueue(options: ValidatedOptions): ConfigProblem[] {
  const queuePath = 'serviceBus.queueName';
  if (options.broken.has(CONNECTION) || options.broken.has(queuePath)) return [];
  const entity = connectionStringMembers(options.get(CONNECTION) as string).get('entitypath');
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
