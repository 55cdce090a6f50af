/**
 * One target cluster as configured by the operator (the clusters file or config `clusters`).
 * The config loader validates raw input into this shape; the cluster client consumes it.
 * Exactly one of token/tokenFile and at most one of ca/caFile is set.
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
  /** Free-form labels, e.g. region=westeurope. */
  readonly labels: Readonly<Record<string, string>>;
}
