import type { ClusterEntry } from '../clusters/cluster-entry.js';
import type { LogLevel } from '../observability/logger.js';
import type { PodSettings } from '../pod/pod-settings.js';
import type { PolicySettings } from '../policy/policy.js';
import type { SELECTION_STRATEGIES } from './schema.js';

/**
 * The validated, fully defaulted, deeply frozen configuration (loadConfig). Every option is
 * documented in src/config/schema.ts and docs/configuration.md.
 */
export interface Config {
  readonly serviceBus: {
    /** Sensitive: never log it. */
    readonly connectionString: string;
    readonly queueName: string;
    readonly maxConcurrentCalls: number;
    readonly maxAutoLockRenewalDurationMs: number;
  };
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
  readonly log: { readonly level: LogLevel; readonly pretty: boolean };
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number };
}

export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];
