import { randomUUID } from 'node:crypto';

/**
 * The tenant's principals the endpoint issues tokens to: applications (service principals with
 * client secrets and federated credentials, as workload identity uses) and managed identities.
 * `roles` and `groups` are what their tokens carry (see README, "Roles and groups").
 */
export interface ApplicationSpec {
  /** The application (client) ID. */
  readonly clientId: string;
  /** Object ID of its service principal, the `oid` of its tokens; random when not given. */
  readonly objectId?: string;
  /** Client secrets it may authenticate with (ClientSecretCredential). */
  readonly secrets?: readonly string[];
  /** Federated identity credentials (WorkloadIdentityCredential, ClientAssertionCredential). */
  readonly federatedCredentials?: readonly FederatedCredentialSpec[];
  readonly roles?: readonly string[];
  readonly groups?: readonly string[];
}

/** Trust in tokens of an external issuer (e.g. a cluster's service-account issuer). */
export interface FederatedCredentialSpec {
  /** Must equal the assertion's `iss`. */
  readonly issuer: string;
  /** Must equal the assertion's `sub`, e.g. `system:serviceaccount:podbus:podbus`. */
  readonly subject: string;
  /** One must be in the assertion's `aud`. @defaultValue ['api://AzureADTokenExchange'] */
  readonly audiences?: readonly string[];
}

export interface ManagedIdentitySpec {
  readonly clientId: string;
  readonly objectId?: string;
  /** The identity used when a request names none (the system-assigned one). */
  readonly systemAssigned?: boolean;
  readonly roles?: readonly string[];
  readonly groups?: readonly string[];
}

/** A principal as tokens describe it. */
export interface Principal {
  readonly kind: 'application' | 'managed-identity';
  readonly clientId: string;
  readonly objectId: string;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
}

export interface Application extends Principal {
  readonly kind: 'application';
  readonly secrets: readonly string[];
  readonly federatedCredentials: readonly Required<FederatedCredentialSpec>[];
}

export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** Applications and managed identities by client ID; both can change while the server runs. */
export class Directory {
  private readonly applications = new Map<string, Application>();
  private readonly managedIdentities = new Map<string, Principal>();
  private systemAssigned: string | undefined;

  addApplication(spec: ApplicationSpec): Application {
    requireId(spec.clientId, 'application clientId');
    const app: Application = {
      kind: 'application',
      clientId: spec.clientId,
      objectId: spec.objectId ?? randomUUID(),
      roles: [...(spec.roles ?? [])],
      groups: [...(spec.groups ?? [])],
      secrets: [...(spec.secrets ?? [])],
      federatedCredentials: (spec.federatedCredentials ?? []).map((f) => ({
        issuer: f.issuer,
        subject: f.subject,
        audiences: [...(f.audiences ?? [TOKEN_EXCHANGE_AUDIENCE])],
      })),
    };
    this.applications.set(app.clientId, app);
    return app;
  }

  addManagedIdentity(spec: ManagedIdentitySpec): Principal {
    requireId(spec.clientId, 'managed identity clientId');
    const identity: Principal = {
      kind: 'managed-identity',
      clientId: spec.clientId,
      objectId: spec.objectId ?? randomUUID(),
      roles: [...(spec.roles ?? [])],
      groups: [...(spec.groups ?? [])],
    };
    this.managedIdentities.set(identity.clientId, identity);
    if (spec.systemAssigned || this.systemAssigned === undefined) {
      this.systemAssigned = identity.clientId;
    }
    return identity;
  }

  application(clientId: string): Application | undefined {
    return this.applications.get(clientId);
  }

  /** The named managed identity, or the system-assigned one when `clientId` is undefined. */
  managedIdentity(clientId: string | undefined): Principal | undefined {
    const id = clientId ?? this.systemAssigned;
    return id === undefined ? undefined : this.managedIdentities.get(id);
  }
}

function requireId(value: unknown, what: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`${what} must be a non-empty string`);
  }
}
