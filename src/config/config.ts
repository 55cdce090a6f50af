import type { AzureIdentitySettings } from '../azure/credential.js';
import type { ServiceBusConnection } from '../azure/service-bus-client.js';
import type { ClusterEntry } from '../clusters/cluster-entry.js';
import type { LogLevel } from '../observability/logger.js';
import type { PodSettings } from '../pod/pod-settings.js';
import type { PolicySettings } from '../policy/policy.js';
import type {
  CleanupSettings,
  LeaderElectionSettings,
  ResultsSettings,
} from '../results/settings.js';
import type { SELECTION_STRATEGIES } from './schema.js';

/**
 * The validated, fully defaulted, deeply frozen configuration (loadConfig in load-config.ts),
 * and the parts of it that commands other than `podbus run` compile on their own. Every option
 * is documented in src/config/schema.ts and docs/configuration.md.
 */
export interface Config {
  readonly serviceBus: ServiceBusSettings;
  readonly azure: AzureIdentitySettings;
  /** Absolute path of the clusters file, or '' when the clusters were given inline. */
  readonly clustersFile: string;
  /** Validated entries (at least one); token/caFile paths are absolute. */
  readonly clusters: readonly ClusterEntry[];
  readonly selection: {
    readonly strategy: SelectionStrategy;
    readonly allowMessageClusterPreference: boolean;
  };
  readonly policy: PolicySettings;
  readonly pod: PodSettings;
  readonly worker: {
    readonly shutdownGraceMs: number;
    readonly transientRetryBudgetMs: number;
    readonly retry: { readonly initialDelayMs: number; readonly maxDelayMs: number };
    readonly clusterRequestTimeoutMs: number;
  };
  readonly results: ResultsSettings;
  readonly cleanup: CleanupSettings;
  readonly leaderElection: LeaderElectionSettings;
  readonly log: { readonly level: LogLevel; readonly pretty: boolean };
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number };
}

export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];

/**
 * The serviceBus section: what `podbus run` receives from, and all that `podbus enqueue` and
 * `podbus dlq` need (loadServiceBusSettings), so they do not demand an allowlist or clusters.
 * How to connect is one of two (ServiceBusConnection): a connection string, or the namespace with
 * an Entra ID credential (and the azure section); createServiceBusClient takes it as it is.
 */
export type ServiceBusSettings = ServiceBusConnection & {
  readonly queueName: string;
  readonly maxConcurrentCalls: number;
  readonly maxAutoLockRenewalDurationMs: number;
};

/** Which clusters the configuration names, before the entries are read (`clusters add`). */
export type ClustersSource =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'inline'; readonly raw: readonly unknown[]; readonly baseDir: string }
  | { readonly kind: 'none' };

/** The clusters part on its own, for `podbus clusters verify` (loadClusterSettings). */
export interface ClusterSettings {
  /** Validated entries (at least one); token/caFile paths are absolute. */
  readonly entries: readonly ClusterEntry[];
  /** Absolute path of the clusters file, or '' when the entries were inline. */
  readonly clustersFile: string;
}
