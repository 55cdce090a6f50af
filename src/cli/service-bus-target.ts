import { isServiceBusError, ServiceBusClient } from '@azure/service-bus';

import { ConfigError } from '../config/config-error.js';
import {
  CONNECTION_STRING_ENV,
  loadServiceBusSettings,
  type ServiceBusSettings,
} from '../config/service-bus-settings.js';
import { scrubText } from '../observability/redaction.js';
import { CliUsageError } from './exit-codes.js';
import { cliIo } from './io.js';

export { CONNECTION_HELP } from './connection-help.js';

/** Flags shared by the commands that talk to the queue (enqueue, dlq ...). */
export interface ServiceBusFlags {
  config?: string;
  queue?: string;
}

/** Help text shared by those commands: where the connection string comes from and why. */

/** Settings from --config / PODBUS_CONFIG, the environment and --queue; problems exit 2. */
export function serviceBusSettingsFor(flags: ServiceBusFlags): ServiceBusSettings {
  const env = cliIo().env;
  try {
    return loadServiceBusSettings({
      file: flags.config ?? env.PODBUS_CONFIG,
      env,
      ...(flags.queue !== undefined && { queueName: flags.queue }),
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliUsageError(error.message);
    throw error;
  }
}

/**
 * A client for a short command: a few quick retries instead of the SDK's defaults (which can
 * keep an operator waiting for minutes on an unreachable namespace).
 */
export function serviceBusClient(settings: ServiceBusSettings): ServiceBusClient {
  return new ServiceBusClient(settings.connectionString, {
    retryOptions: { maxRetries: 2, timeoutInMs: 20_000, retryDelayInMs: 500 },
  });
}

/** One line an operator can act on; never contains the key (scrubbed anyway). */
export function describeServiceBusError(error: unknown, queue: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = scrubText(message.split('\n')[0] ?? '');
  if (isServiceBusError(error)) {
    switch (error.code) {
      case 'MessagingEntityNotFound':
        return `queue "${queue}" does not exist in this namespace: check --queue / serviceBus.queueName (${first})`;
      case 'UnauthorizedAccess':
        return `Service Bus refused the credentials: check ${CONNECTION_STRING_ENV} (the key or its rights: sending needs Send, the dlq commands need Listen) (${first})`;
      case 'ServiceCommunicationProblem':
      case 'ServiceTimeout':
        return `cannot reach Service Bus: check the Endpoint of the connection string and the network (${first})`;
      case 'MessageSizeExceeded':
        return `a message is larger than the queue allows (${first})`;
      default:
        return `Service Bus error ${error.code}: ${first}`;
    }
  }
  return first;
}
