import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import type { ServiceBusConnection } from '../azure/service-bus-client.js';
import type { PodObservation } from '../clusters/active-pods.js';
import type { PoolClient } from '../clusters/cluster-pool.js';
import { Emitter, type EventSource } from '../shared/typed-events.js';
import type { ResultEvents } from './events.js';
import { LeaderElector } from './leader-elector.js';
import { ResultsKeeper } from './results-keeper.js';
import { ServiceBusResultSender, type ResultSender } from './result-sender.js';
import type { CleanupSettings, LeaderElectionSettings, ResultsSettings } from './settings.js';

/** The part of the cluster pool the results need: each cluster's client and its pod watch. */
export interface ResultsPool {
  readonly clusterNames: readonly string[];
  client(name: string): PoolClient | undefined;
  observePods(cluster: string, listener: (observation: PodObservation) => void): () => void;
}

export interface ResultsServiceSettings {
  readonly results: ResultsSettings;
  readonly cleanup: CleanupSettings;
  readonly leaderElection: LeaderElectionSettings;
}

export interface ResultsServiceOptions {
  readonly pool: ResultsPool;
  readonly settings: ResultsServiceSettings;
  /** Builds the sender when results are on (a Service Bus connection of its own). */
  readonly sender: () => ResultSender;
  /** @defaultValue `<hostname>_<uuid>`, like client-go's leader election identities */
  readonly identity?: string;
  /** @defaultValue 1000 */
  readonly tickMs?: number;
}

/** Results are on when there is a queue to send them to. */
export function resultsEnabled(settings: Pick<ResultsServiceSettings, 'results'>): boolean {
  return settings.results.queueName !== '';
}

/** Cleanup is on unless both of its limits are `never`. */
export function cleanupEnabled(settings: Pick<ResultsServiceSettings, 'cleanup'>): boolean {
  const { ttlSecondsAfterFinished, stuckPendingSeconds } = settings.cleanup;
  return ttlSecondsAfterFinished !== 'never' || stuckPendingSeconds !== 'never';
}

/**
 * What happens after a challenge's pod ends, for every cluster: one leader election and one
 * results keeper per cluster, fed by the pool's pod watches. Built only when results or cleanup
 * are on (see worker-app.ts); subscribe it before the pool starts, so the first lists are seen.
 */
export class ResultsService {
  private readonly emitter = new Emitter<ResultEvents>();
  /** Everything the keepers and electors say happened; see ResultEvents. */
  readonly events: EventSource<ResultEvents> = this.emitter;
  readonly identity: string;
  private readonly electors: LeaderElector[] = [];
  private readonly keepers: ResultsKeeper[] = [];
  private readonly unsubscribes: (() => void)[] = [];
  private readonly sender: ResultSender | undefined;

  constructor(options: ResultsServiceOptions) {
    const { settings, pool } = options;
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    this.sender = resultsEnabled(settings) ? options.sender() : undefined;
    const election = settings.leaderElection;
    for (const name of pool.clusterNames) {
      const client = pool.client(name);
      if (client === undefined) continue;
      const elector = new LeaderElector({
        cluster: name,
        store: client,
        leaseName: election.leaseName,
        identity: this.identity,
        leaseDurationMs: election.leaseDurationSeconds * 1000,
        renewDeadlineMs: election.renewDeadlineSeconds * 1000,
        retryPeriodMs: election.retryPeriodSeconds * 1000,
        events: this.emitter,
      });
      const keeper = new ResultsKeeper({
        client,
        leadership: elector,
        results:
          this.sender === undefined
            ? undefined
            : { settings: settings.results, sender: this.sender },
        cleanup: settings.cleanup,
        events: this.emitter,
        ...(options.tickMs !== undefined && { tickMs: options.tickMs }),
      });
      this.unsubscribes.push(pool.observePods(name, (o) => keeper.observe(o)));
      this.electors.push(elector);
      this.keepers.push(keeper);
    }
  }

  start(): void {
    for (const keeper of this.keepers) keeper.start();
    for (const elector of this.electors) elector.start();
  }

  /**
   * Stops acting (in-flight results and deletions end), releases the leases so another replica
   * takes over at once, and closes the Service Bus connection of the results.
   */
  async stop(): Promise<void> {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    await Promise.allSettled(this.keepers.map((k) => k.stop()));
    await Promise.allSettled(this.electors.map((e) => e.stop()));
    await this.sender?.close();
  }
}

/** The sender `podbus run` uses: Service Bus, on a connection of its own. */
export function serviceBusSender(connection: ServiceBusConnection): () => ResultSender {
  return () => new ServiceBusResultSender(connection);
}
