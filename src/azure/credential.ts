import type { TokenCredential } from '@azure/identity';

/**
 * Microsoft Entra ID credentials, the one place podbus creates them (Service Bus and the
 * clusters' `auth: { type: azure }` both come here). @azure/identity is loaded only when a
 * credential is made, so a worker that authenticates with a connection string and tokens never
 * loads it (test/unit/architecture.test.ts holds every other import of it to `import type`).
 */
export const CREDENTIAL_KINDS = [
  'workload-identity',
  'managed-identity',
  'azure-cli',
  'default',
] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** How @azure/identity reaches Entra ID (the `azure` section of the configuration). */
export interface AzureIdentitySettings {
  /** Entra ID's address; '' for @azure/identity's own choice (AZURE_AUTHORITY_HOST, else the public cloud). */
  readonly authorityHost: string;
  /** Skip MSAL's authority validation against login.microsoftonline.com (a private authority host). */
  readonly disableInstanceDiscovery: boolean;
  /** Client ID of a user-assigned managed identity; '' for the system-assigned one (or AZURE_CLIENT_ID). */
  readonly managedIdentityClientId: string;
}

export const DEFAULT_IDENTITY_SETTINGS: AzureIdentitySettings = {
  authorityHost: '',
  disableInstanceDiscovery: false,
  managedIdentityClientId: '',
};

/** What workload identity needs from the environment (the Azure Workload Identity webhook sets it). */
export const WORKLOAD_IDENTITY_ENV = [
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
  'AZURE_FEDERATED_TOKEN_FILE',
] as const;

/** A credential that cannot be made here, with what to do about it. */
export class CredentialSetupError extends Error {
  override readonly name = 'CredentialSetupError';
}

export async function createCredential(
  kind: CredentialKind,
  settings: AzureIdentitySettings,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<TokenCredential> {
  if (kind === 'workload-identity') {
    const missing = WORKLOAD_IDENTITY_ENV.filter((name) => !env[name]);
    if (missing.length > 0) {
      throw new CredentialSetupError(
        `credential workload-identity needs ${missing.join(', ')} in the environment: the Azure Workload Identity webhook sets them in pods labelled azure.workload.identity/use: "true" whose ServiceAccount carries the annotation azure.workload.identity/client-id (deploy/worker/overlays/workload-identity)`,
      );
    }
  }
  const identity = await import('@azure/identity');
  const common = {
    ...(settings.authorityHost !== '' && { authorityHost: settings.authorityHost }),
    ...(settings.disableInstanceDiscovery && { disableInstanceDiscovery: true }),
  };
  const managedIdentityClientId = settings.managedIdentityClientId || undefined;
  switch (kind) {
    case 'workload-identity':
      return new identity.WorkloadIdentityCredential(common);
    case 'managed-identity':
      return managedIdentityClientId === undefined
        ? new identity.ManagedIdentityCredential()
        : new identity.ManagedIdentityCredential({ clientId: managedIdentityClientId });
    case 'azure-cli':
      return new identity.AzureCliCredential();
    case 'default':
      return new identity.DefaultAzureCredential({
        ...common,
        ...(managedIdentityClientId !== undefined && { managedIdentityClientId }),
      });
  }
}
