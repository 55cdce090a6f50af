import { isServiceBusError, type ServiceBusClient } from '@azure/service-bus';

import { serviceBusAuthFix } from '../azure/auth-failures.js';
import { createServiceBusClient, lastAttemptError } from '../azure/service-bus-client.js';

import type { ServiceBusSettings } from '../config/config.js';
import { loadServiceBusSettings } from '../config/load-config.js';
import { CONNECTION_STRING_ENV } from '../config/service-bus-part.js';
import { scrubText } from '../shared/redaction.js';
import { commandSources, configOrUsageError } from './config-sources.js';
import { cliIo } from './io.js';

/** Help text shared by those commands: where the connection string comes from and why. */
export { CONNECTION_HELP } from './connection-help.js';

/** Flags shared by the commands that talk to the queue (enqueue, dlq ...). */
export interface ServiceBusFlags {
  config?: string;
  queue?: string;
}

/** Settings from --config / PODBUS_CONFIG, the environment and --queue; problems exit 2. */
export function serviceBusSettingsFor(flags: ServiceBusFlags): ServiceBusSettings {
  const sources = commandSources(flags.config, cliIo().env, [
    { path: 'serviceBus.queueName', flag: '--queue', value: flags.queue },
  ]);
  return configOrUsageError(() => loadServiceBusSettings(sources));
}

/**
 * A client for a short command: a few quick retries instead of the SDK's defaults (which can
 * keep an operator waiting for minutes on an unreachable namespace). The same factory as the
 * worker's, so a connection string and an Entra ID credential work alike.
 */
export function serviceBusClient(settings: ServiceBusSettings): Promise<ServiceBusClient> {
  return createServiceBusClient(settings, {
    retryOptions: { maxRetries: 2, timeoutInMs: 20_000, retryDelayInMs: 500 },
  });
}

/**
 * One line an operator can act on: for a refused identity, what to fix, then the service's own
 * words; never contains the key (scrubbed anyway).
 */
export function describeServiceBusError(thrown: unknown, settings: ServiceBusSettings): string {
  const error = lastAttemptError(thrown);
  const queue = settings.queueName;
  const message = error instanceof Error ? error.message : String(error);
  const first = scrubText(message.split('\n')[0] ?? '');
  const fix = serviceBusAuthFix(error, settings);
  if (fix !== undefined) return fix === first ? fix : `${fix} (${first})`;
  if (isServiceBusError(error)) {
    switch (error.code) {
      case 'MessagingEntityNotFound':
        return `queue "${queue}" does not exist in this namespace: check --queue / serviceBus.queueName (${first})`;
      case 'UnauthorizedAccess':
        return settings.connectionString !== undefined
          ? `Service Bus refused the credentials: check ${CONNECTION_STRING_ENV} (the key or its rights: sending needs Send, the dlq commands need Listen) (${first})`
          : `Service Bus refused the identity: check its role assignments on the queue (sending needs Azure Service Bus Data Sender, the dlq commands Data Receiver) (${first})`;
      case 'ServiceCommunicationProblem':
      case 'ServiceTimeout':
        return `cannot reach Service Bus: check ${settings.connectionString !== undefined ? 'the Endpoint of the connection string' : 'serviceBus.fullyQualifiedNamespace'} and the network (${first})`;
      case 'MessageSizeExceeded':
        return `a message is larger than the queue allows (${first})`;
      default:
        return `Service Bus error ${error.code}: ${first}`;
    }
  }
  return first;
}
