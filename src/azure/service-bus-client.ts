import { ServiceBusClient, type ServiceBusClientOptions } from '@azure/service-bus';

import { createCredential, type AzureIdentitySettings, type CredentialKind } from './credential.js';

/**
 * How podbus connects to Service Bus: a connection string (a SAS key), or the namespace and a
 * Microsoft Entra ID credential. Exactly one; the serviceBus part of the configuration
 * (src/config/service-bus-part.ts) decides which, and ServiceBusSettings is this plus the queue.
 */
export type ServiceBusConnection =
  | {
      /** Sensitive: never log or print it. */
      readonly connectionString: string;
      readonly fullyQualifiedNamespace?: undefined;
    }
  | {
      readonly connectionString?: undefined;
      /** `<namespace>.servicebus.windows.net` (a port is allowed: emulators). */
      readonly fullyQualifiedNamespace: string;
      readonly credential: CredentialKind;
      readonly identity: AzureIdentitySettings;
    };

/**
 * The one way podbus makes a Service Bus client (`podbus run`, `podbus enqueue`, `podbus dlq`).
 * With a credential the SDK asks it for `https://servicebus.azure.net//.default` and puts the
 * token on $cbs, renewing it before it expires.
 */
export async function createServiceBusClient(
  connection: ServiceBusConnection,
  options: ServiceBusClientOptions = {},
): Promise<ServiceBusClient> {
  if (connection.connectionString !== undefined) {
    return new ServiceBusClient(connection.connectionString, options);
  }
  const credential = await createCredential(connection.credential, connection.identity);
  return new ServiceBusClient(connection.fullyQualifiedNamespace, credential, options);
}

/**
 * The error of the last attempt: when every retry of an operation failed with a retryable error
 * (UnauthorizedAccess is one), @azure/core-amqp throws an AggregateError with no message of its
 * own, holding one error per attempt.
 */
export function lastAttemptError(error: unknown): unknown {
  return error instanceof AggregateError && error.errors.length > 0 ? error.errors.at(-1) : error;
}
