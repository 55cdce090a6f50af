import { ServiceBusError } from '@azure/service-bus';
import { describe, expect, it } from '@jest/globals';

import { credentialFix, serviceBusAuthFix } from '../../../src/azure/auth-failures.js';
import { DEFAULT_IDENTITY_SETTINGS } from '../../../src/azure/credential.js';
import type { ServiceBusConnection } from '../../../src/azure/service-bus-client.js';
import { describeServiceBusError } from '../../../src/cli/service-bus-target.js';

const entra: ServiceBusConnection = {
  fullyQualifiedNamespace: 'ns.servicebus.windows.net',
  credential: 'workload-identity',
  identity: DEFAULT_IDENTITY_SETTINGS,
};
const sas: ServiceBusConnection = {
  connectionString:
    'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s',
};

/** What the SDK throws once core-amqp's retries of a retryable error are used up. */
const retriesOf = (error: Error) => new AggregateError([error, error], '');
const refused = (text: string) => Object.assign(new Error(text), { code: 'UnauthorizedAccess' });

describe('serviceBusAuthFix', () => {
  it("names the role for a missing right, through core-amqp's AggregateError", () => {
    const error = retriesOf(
      refused(
        "Unauthorized access. 'Send' claim(s) are required to perform this operation. Resource: 'sb://ns.servicebus.windows.net/challenges'. TrackingId:x",
      ),
    );
    expect(serviceBusAuthFix(error, entra)).toMatch(
      /^the identity lacks the Send right on sb:\/\/ns\.servicebus\.windows\.net\/challenges: assign it the Azure Service Bus Data Sender role/,
    );
    expect(serviceBusAuthFix(error, sas)).toMatch(
      /the connection string's key lacks the Send right/,
    );
  });

  it.each([
    [
      'InvalidAudience: The authorization header contains a token with a wrong audience.',
      /another audience/,
    ],
    [
      "ExpiredToken: The token is expired. Expiration time: '2026-01-01 00:00:00Z'",
      /check this machine's clock/,
    ],
    ['InvalidIssuer: Token issuer is invalid.', /tenant \(AZURE_TENANT_ID\)/],
  ])('%s', (text, fix) => {
    expect(serviceBusAuthFix(refused(text), entra)).toMatch(fix);
  });

  // The service words these the same for a SAS token: a wrong key is an InvalidSignature too.
  it.each([
    ['InvalidSignature: The token has an invalid signature.', /SharedAccessKey does not belong/],
    [
      'InvalidAudience: The authorization header contains a token with a wrong audience.',
      /check the Endpoint \(and EntityPath/,
    ],
    ["ExpiredToken: The token is expired. Expiration time: '2026-01-01 00:00:00Z'", /NTP/],
    ['InvalidIssuer: Token issuer is invalid.', /SharedAccessKeyName names a policy/],
  ])('connection string: %s', (text, fix) => {
    const advice = serviceBusAuthFix(refused(text), sas);
    expect(advice).toMatch(fix);
    expect(advice).not.toMatch(/Entra ID tenant|azure\.authorityHost|AZURE_TENANT_ID/);
  });

  it('says nothing about failures that are not authentication', () => {
    expect(serviceBusAuthFix(new Error('connect ECONNREFUSED'), entra)).toBeUndefined();
    expect(serviceBusAuthFix(new Error('connect ECONNREFUSED'), sas)).toBeUndefined();
  });
});

describe('credentialFix', () => {
  it('explains an Entra ID refusal by its AADSTS code', () => {
    expect(
      credentialFix(
        new Error('AADSTS70021: No matching federated identity record'),
        'workload-identity',
      ),
    ).toMatch(
      /^Entra ID refused to issue a token \(AADSTS70021\): .*system:serviceaccount:<namespace>:<service account>/,
    );
  });

  it('explains an unavailable credential by its kind', () => {
    const unavailable = Object.assign(new Error('ManagedIdentityCredential: unavailable'), {
      name: 'CredentialUnavailableError',
    });
    expect(credentialFix(unavailable, 'managed-identity')).toMatch(
      /in a pod use workload-identity/,
    );
    expect(credentialFix(unavailable, 'azure-cli')).toMatch(/run az login/);
  });
});

describe('describeServiceBusError', () => {
  it('reads the last attempt of an AggregateError instead of printing nothing', () => {
    const error = retriesOf(
      refused(
        "Put token failed. status-code: 401, status-description: Unauthorized: no shared access key named 'x'",
      ),
    );
    expect(
      describeServiceBusError(error, {
        ...sas,
        queueName: 'q',
        maxConcurrentCalls: 1,
        maxAutoLockRenewalDurationMs: 1,
      }),
    ).toContain("no shared access key named 'x'");
  });
});

describe('describeServiceBusError: a refusal with no specific fix', () => {
  const plainRefusal = new ServiceBusError('Unauthorized access.', 'UnauthorizedAccess');
  const settings = { queueName: 'q', maxConcurrentCalls: 1, maxAutoLockRenewalDurationMs: 1 };

  it('points a connection-string user at the connection string', () => {
    expect(describeServiceBusError(plainRefusal, { ...sas, ...settings })).toMatch(
      /^Service Bus refused the credentials: check PODBUS_SERVICE_BUS_CONNECTION_STRING/,
    );
  });

  it("points an Entra ID user at the identity's role assignments, not a connection string", () => {
    const text = describeServiceBusError(plainRefusal, { ...entra, ...settings });
    expect(text).toMatch(/^Service Bus refused the identity: check its role assignments/);
    expect(text).not.toContain('CONNECTION_STRING');
  });
});
