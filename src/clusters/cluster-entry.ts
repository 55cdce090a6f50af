import type { AzureIdentitySettings, CredentialKind } from '../azure/credential.js';

/**
 * One target cluster as configured by the operator (the clusters file or config `clusters`).
 * The config loader validates raw input into this shape; the cluster client consumes it.
 * Exactly one of token, tokenFile and auth, and at most one of ca/caFile, is set.
 */
export interface ClusterEntry {
  /** Unique, DNS-1123 label; appears in logs, metrics and the `cluster` message field. */
  readonly name: string;
  /** API server URL, e.g. https://myaks-dns-1234.hcp.westeurope.azmk8s.io:443 */
  readonly server: string;
  /** Bearer token inline (sensitive). */
  readonly token?: string;
  /** Path to a file holding the bearer token; re-read when it changes and after a 401. */
  readonly tokenFile?: string;
  /** A token obtained at run time: Microsoft Entra ID, or a kubeconfig-style exec plugin. */
  readonly auth?: ClusterAuth;
  /** PEM CA bundle inline. */
  readonly ca?: string;
  /** Path to a PEM CA bundle. */
  readonly caFile?: string;
  /** Turns TLS verification off. Default false; podbus warns loudly when true. */
  readonly insecureSkipTlsVerify: boolean;
  /** Namespace the pods are created in. */
  readonly namespace: string;
  /** Relative share for the `weighted` strategy (> 0). */
  readonly weight: number;
  /** Upper bound of active (non-terminal) podbus pods on this cluster; 0 = unbounded. */
  readonly maxActivePods: number;
  /** Requests per second to this API server, per replica (rate-limiter.ts); 0: no limit. */
  readonly qps?: number;
  /** Requests this replica may send at once before `qps` paces them. */
  readonly burst?: number;
  /** Free-form labels, e.g. region=westeurope. */
  readonly labels: Readonly<Record<string, string>>;
}

export type ClusterAuth = AzureClusterAuth | ExecClusterAuth;

/** The AKS AAD server application: the audience of Entra ID tokens for AKS API servers. */
export const AKS_SCOPE = '6dae42f8-4368-4678-94ff-3960e28e3630/.default';

/** An Entra ID access token from @azure/identity (AKS with Microsoft Entra ID integration). */
export interface AzureClusterAuth {
  readonly type: 'azure';
  readonly credential: CredentialKind;
  /** @defaultValue AKS_SCOPE */
  readonly scope: string;
  /** The azure section of the configuration. */
  readonly identity: AzureIdentitySettings;
}

/** A client.authentication.k8s.io ExecCredential plugin, as in a kubeconfig (kubelogin). */
export interface ExecClusterAuth {
  readonly type: 'exec';
  readonly command: string;
  readonly args: readonly string[];
  /** Added to podbus's environment (values may be secrets: never logged). */
  readonly env: Readonly<Record<string, string>>;
  /** client.authentication.k8s.io/v1 (default) or v1beta1. */
  readonly apiVersion: string;
  /** Shown when the command is not found. */
  readonly installHint?: string;
  /** Put the server URL into KUBERNETES_EXEC_INFO (spec.cluster). */
  readonly provideClusterInfo: boolean;
  readonly timeoutSeconds: number;
}
