import { describe, expect, it } from '@jest/globals';

import { ConfigError } from '../../../src/config/config-error.js';
import { loadServiceBusSettings } from '../../../src/config/load-config.js';

/** serviceBus: a connection string, or the namespace with an Entra ID credential; exactly one. */
const CS =
  'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0';
const NS = 'PODBUS_SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE';
const CRED = 'PODBUS_SERVICE_BUS_CREDENTIAL';

function problems(env: Record<string, string>): string {
  try {
    loadServiceBusSettings({ env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('how podbus connects to Service Bus', () => {
  it('takes the namespace with a credential and the azure section', () => {
    expect(
      loadServiceBusSettings({
        env: {
          [NS]: 'podbus.servicebus.windows.net',
          [CRED]: 'workload-identity',
          PODBUS_AZURE_AUTHORITY_HOST: 'https://127.0.0.1:8443',
          PODBUS_AZURE_DISABLE_INSTANCE_DISCOVERY: 'true',
        },
      }),
    ).toEqual({
      fullyQualifiedNamespace: 'podbus.servicebus.windows.net',
      credential: 'workload-identity',
      identity: {
        authorityHost: 'https://127.0.0.1:8443',
        disableInstanceDiscovery: true,
        managedIdentityClientId: '',
      },
      queueName: 'challenges',
      maxConcurrentCalls: 8,
      maxAutoLockRenewalDurationMs: 1_800_000,
    });
  });

  it('takes a connection string without a credential', () => {
    expect(loadServiceBusSettings({ env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: CS } })).toEqual({
      connectionString: CS,
      queueName: 'challenges',
      maxConcurrentCalls: 8,
      maxAutoLockRenewalDurationMs: 1_800_000,
    });
  });

  it('refuses both, naming where each came from, and never the key', () => {
    const text = problems({
      PODBUS_SERVICE_BUS_CONNECTION_STRING: CS,
      [NS]: 'podbus.servicebus.windows.net',
      [CRED]: 'default',
    });
    expect(text).toContain(
      `serviceBus: connectionString (from PODBUS_SERVICE_BUS_CONNECTION_STRING) and fullyQualifiedNamespace (from ${NS}) are both set; use one`,
    );
    expect(text).not.toContain('c2VjcmV0');
  });

  it('needs a credential with the namespace, and says which ones there are', () => {
    expect(problems({ [NS]: 'podbus.servicebus.windows.net' })).toContain(
      `serviceBus.credential: must be set with serviceBus.fullyQualifiedNamespace. Fix: set ${CRED} to one of workload-identity, managed-identity, azure-cli, default`,
    );
  });

  it('needs the namespace with a credential', () => {
    expect(problems({ [CRED]: 'managed-identity' })).toContain(
      `serviceBus.fullyQualifiedNamespace: must be set with serviceBus.credential (from ${CRED})`,
    );
  });

  it('refuses a credential beside a connection string', () => {
    expect(problems({ PODBUS_SERVICE_BUS_CONNECTION_STRING: CS, [CRED]: 'azure-cli' })).toContain(
      'serviceBus.credential: is set (from PODBUS_SERVICE_BUS_CREDENTIAL) but serviceBus.connectionString authenticates with its key',
    );
  });

  it('refuses a namespace written as a URL, and an unknown credential', () => {
    const text = problems({ [NS]: 'sb://podbus.servicebus.windows.net/', [CRED]: 'certificate' });
    expect(text).toContain(
      'serviceBus.credential: must be one of: workload-identity, managed-identity, azure-cli, default',
    );
    expect(problems({ [NS]: 'sb://podbus.servicebus.windows.net/', [CRED]: 'default' })).toContain(
      'serviceBus.fullyQualifiedNamespace: must be a host name such as mynamespace.servicebus.windows.net, without sb:// or a path',
    );
  });
});
