import type { CredentialKind } from './credential.js';
import { lastAttemptError, type ServiceBusConnection } from './service-bus-client.js';
import { errorMessage } from '../shared/error-message.js';

/**
 * What to fix when Service Bus or Entra ID refuses podbus's identity: the service's own words
 * stay in the error (logged with it); this adds the podbus setting, role or environment to
 * change. Undefined for failures that are not about authentication.
 */
export function serviceBusAuthFix(
  thrown: unknown,
  connection: ServiceBusConnection,
): string | undefined {
  const error = lastAttemptError(thrown);
  const text = errorMessage(error);
  const missingRight = /'(Listen|Send|Manage)' claim\(s\) are required.*?Resource: '([^']*)'/s.exec(
    text,
  );
  if (missingRight) {
    const [, right, resource] = missingRight;
    const role =
      right === 'Listen'
        ? 'Azure Service Bus Data Receiver'
        : right === 'Send'
          ? 'Azure Service Bus Data Sender'
          : 'Azure Service Bus Data Owner';
    return connection.connectionString !== undefined
      ? `the connection string's key lacks the ${right} right on ${resource}: use a policy with ${right}`
      : `the identity lacks the ${right} right on ${resource}: assign it the ${role} role on that queue (or the namespace) to its object ID (az role assignment create --role "${role}" --assignee-object-id <object id> --scope <queue resource ID>); see README, "Deploying with workload identity"`;
  }
  // The service words its token refusals the same for SAS and Entra ID tokens: the fix depends
  // on which one podbus sent.
  const refusal = /\b(InvalidAudience|ExpiredToken|InvalidIssuer|InvalidSignature)\b/.exec(
    text,
  )?.[1];
  if (refusal !== undefined) {
    const fixes = connection.connectionString !== undefined ? SAS_TOKEN_FIXES : ENTRA_TOKEN_FIXES;
    return fixes[refusal as TokenRefusal];
  }
  if (connection.connectionString === undefined) return credentialFix(error, connection.credential);
  return undefined;
}

type TokenRefusal = 'InvalidAudience' | 'ExpiredToken' | 'InvalidIssuer' | 'InvalidSignature';

const ENTRA_TOKEN_FIXES: Record<TokenRefusal, string> = {
  InvalidAudience:
    "Service Bus refused the token as issued for another audience: the identity must get its token from the Entra ID of the namespace's cloud (azure.authorityHost, AZURE_AUTHORITY_HOST), e.g. a *.servicebus.usgovcloudapi.net namespace takes tokens from https://login.microsoftonline.us",
  ExpiredToken:
    "Service Bus refused the token as expired: check this machine's clock (NTP) and the token issuer's; podbus requests a new token before the current one expires",
  InvalidIssuer:
    "Service Bus does not trust the token's issuer: the identity must belong to the namespace's Entra ID tenant (AZURE_TENANT_ID), and the namespace must accept Entra ID tokens",
  InvalidSignature:
    "Service Bus could not verify the token's signature: it was not issued by the namespace's Entra ID tenant (check azure.authorityHost)",
};

const SAS_TOKEN_FIXES: Record<TokenRefusal, string> = {
  InvalidAudience:
    "Service Bus refused the connection string's token as meant for another resource: check the Endpoint (and EntityPath, if any) of the connection string against the namespace and queue",
  ExpiredToken:
    "Service Bus refused the connection string's token as expired: check this machine's clock (NTP); the SDK signs a new token from the key before each one expires",
  InvalidIssuer:
    "Service Bus does not accept the connection string's token issuer: check that SharedAccessKeyName names a policy of this namespace (or of the queue, with EntityPath)",
  InvalidSignature:
    "Service Bus could not verify the connection string's signature: the SharedAccessKey does not belong to the SharedAccessKeyName on this namespace (copy both from the same policy again)",
};

/** A credential that could not get a token (no identity here, or Entra ID refused it). */
export function credentialFix(error: unknown, kind: CredentialKind): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  const text = errorMessage(error);
  if (name === 'CredentialSetupError') return text;
  const aadsts = /AADSTS(\d+)/.exec(text)?.[1];
  if (aadsts !== undefined) {
    const known: Record<string, string> = {
      '700016':
        'the client ID is not an application of that tenant: check AZURE_CLIENT_ID and AZURE_TENANT_ID',
      '70021':
        "the identity has no federated credential for this service account: add one with issuer = the cluster's OIDC issuer URL and subject system:serviceaccount:<namespace>:<service account> (az identity federated-credential create)",
      '7000215': 'the client secret is wrong or expired',
      '90002':
        'the tenant does not exist in this cloud: check AZURE_TENANT_ID and azure.authorityHost',
      '700024':
        'the service-account token is expired or not yet valid: check the clock and that the kubelet refreshes the projected token',
    };
    return `Entra ID refused to issue a token (AADSTS${aadsts}): ${known[aadsts] ?? 'see the Entra ID error code'}`;
  }
  if (
    name === 'CredentialUnavailableError' ||
    /CredentialUnavailable|not available|unavailable/i.test(text)
  ) {
    const how: Record<CredentialKind, string> = {
      'workload-identity':
        'workload identity needs AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE (the Azure Workload Identity webhook sets them: pod label azure.workload.identity/use: "true", ServiceAccount annotation azure.workload.identity/client-id)',
      'managed-identity':
        'no managed identity answers here: it works on Azure (a VM, App Service, AKS node identity) or where IDENTITY_ENDPOINT is set; in a pod use workload-identity',
      'azure-cli': 'the Azure CLI is not installed or not logged in: run az login',
      default:
        'DefaultAzureCredential found no identity (environment, workload identity, managed identity, Azure CLI, ...): name one with the credential setting',
    };
    return `no Entra ID credential is available for credential ${kind}: ${how[kind]}`;
  }
  return undefined;
}
