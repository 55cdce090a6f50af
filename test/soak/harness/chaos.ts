import type { EmulatedCluster, FaultConfig } from '@podbus/kubernetes-emulator';
import type { ServiceBusEmulator, ServiceBusFaultConfig } from '@podbus/servicebus-emulator';

import type { Rng } from './random.js';
import type { ReplicaSet } from './replicas.js';

/** One scheduled fault, at `at` ms after the chaos starts. */
export type ChaosEvent =
  | { at: number; kind: 'kill'; replica: number; downMs: number }
  | { at: number; kind: 'sigterm'; replica: number; downMs: number }
  | { at: number; kind: 'cluster-down'; cluster: string; forMs: number }
  | { at: number; kind: 'black-hole'; cluster: string; forMs: number }
  | { at: number; kind: 'throttle-burst'; cluster: string; count: number }
  | { at: number; kind: 'quota-full'; cluster: string; forMs: number }
  | { at: number; kind: 'broker-connection-drop'; target: 'one' | 'all' }
  | { at: number; kind: 'broker-lock-loss'; forMs: number; afterMs: number }
  | { at: number; kind: 'settlement-hang'; forMs: number };

export type ChaosKind = ChaosEvent['kind'];

const WEIGHTS: Readonly<Record<ChaosKind, number>> = {
  kill: 2,
  sigterm: 2,
  'cluster-down': 1.5,
  'black-hole': 1,
  'throttle-burst': 1.5,
  'quota-full': 1.5,
  'broker-connection-drop': 1,
  'broker-lock-loss': 1.5,
  'settlement-hang': 0.5,
};

/** Generous guesses of how long a replica is away, so the schedule keeps one running. */
const RESTART_SLACK_MS = { kill: 3_000, sigterm: 10_000 };

/**
 * The seeded chaos schedule: events spread over `durationMs` at `eventsPerMinute` on average,
 * with two rules that keep the system able to make progress (as any real outage leaves
 * something standing): at least one replica running and at least one cluster reachable.
 */
export function planChaos(
  rng: Rng,
  options: {
    durationMs: number;
    eventsPerMinute: number;
    replicas: number;
    clusters: readonly string[];
  },
): ChaosEvent[] {
  const events: ChaosEvent[] = [];
  if (options.eventsPerMinute <= 0) return events;
  const replicaAwayUntil = new Array<number>(options.replicas).fill(0);
  const clusterOutageUntil = new Map(options.clusters.map((c) => [c, 0]));
  const meanGapMs = 60_000 / options.eventsPerMinute;
  for (let at = gap(rng, meanGapMs); at < options.durationMs; at += gap(rng, meanGapMs)) {
    const kind = weighted(rng);
    switch (kind) {
      case 'kill':
      case 'sigterm': {
        const up = [...replicaAwayUntil.keys()].filter((r) => replicaAwayUntil[r]! <= at);
        if (up.length < 2) break;
        const replica = rng.pick(up);
        const downMs = rng.int(500, 4_000);
        replicaAwayUntil[replica] = at + downMs + RESTART_SLACK_MS[kind];
        events.push({ at, kind, replica, downMs });
        break;
      }
      case 'cluster-down':
      case 'black-hole': {
        const up = options.clusters.filter((c) => clusterOutageUntil.get(c)! <= at);
        if (up.length < 2) break;
        const cluster = rng.pick(up);
        const forMs = rng.int(2_000, kind === 'cluster-down' ? 10_000 : 8_000);
        clusterOutageUntil.set(cluster, at + forMs);
        events.push({ at, kind, cluster, forMs });
        break;
      }
      case 'throttle-burst':
        events.push({ at, kind, cluster: rng.pick(options.clusters), count: rng.int(5, 40) });
        break;
      case 'quota-full':
        events.push({
          at,
          kind,
          cluster: rng.pick(options.clusters),
          forMs: rng.int(1_000, 6_000),
        });
        break;
      case 'broker-connection-drop':
        events.push({ at, kind, target: rng.chance(0.3) ? 'all' : 'one' });
        break;
      case 'broker-lock-loss':
        events.push({ at, kind, forMs: rng.int(2_000, 5_000), afterMs: rng.int(50, 2_000) });
        break;
      case 'settlement-hang':
        events.push({ at, kind, forMs: rng.int(500, 2_000) });
        break;
    }
  }
  return events;
}

function gap(rng: Rng, meanMs: number): number {
  return Math.round(-Math.log(1 - rng.next()) * meanMs);
}

function weighted(rng: Rng): ChaosKind {
  const kinds = Object.keys(WEIGHTS) as ChaosKind[];
  let roll = rng.next() * kinds.reduce((sum, k) => sum + WEIGHTS[k], 0);
  for (const kind of kinds) {
    roll -= WEIGHTS[kind];
    if (roll < 0) return kind;
  }
  return kinds[kinds.length - 1]!;
}

/**
 * Faults that stay on for the whole chaos phase, on every cluster: 5% of creates and reads
 * fail with a 5xx before anything is written, and about 4% of creates are ambiguous writes
 * (committed, then the answer is lost, late past podbus's timeout, or a 500/504).
 */
export function backgroundFaults(index: number, clientTimeoutMs: number): FaultConfig {
  const status = ([500, 503, 504] as const)[index % 3]!;
  return {
    errorRate: {
      create: { rate: 0.05, status, resources: ['pods'] },
      get: { rate: 0.05, status: 503, resources: ['pods'] },
    },
    ambiguousWrite: {
      create: [
        { rate: 0.01, outcome: 'reset', resources: ['pods'] },
        { rate: 0.01, outcome: 'delay', delayMs: clientTimeoutMs + 1_000, resources: ['pods'] },
        { rate: 0.01, outcome: 500, resources: ['pods'] },
        { rate: 0.01, outcome: 504, resources: ['pods'] },
      ],
    },
  };
}

/**
 * The broker's faults for the whole chaos phase: 1% of locks forgotten before they expire (at
 * a random point of the lock duration: only messages held that long notice), 0.2% of
 * settlements refused (internal error: the SDK retries for about 7 s, and podbus settles one
 * message at a time per replica, so each holds up that replica's later settlements
 * meanwhile), 1% of deliveries held up to 2 s, and a connection dropped at one message event
 * in 5,000 (answers lost: a send stored but not acknowledged, a settlement applied but not
 * confirmed; the SDK then waits out its operation timeout, 60 s, before it retries).
 */
export const BROKER_BACKGROUND_FAULTS: ServiceBusFaultConfig = {
  lockLoss: { rate: 0.01 },
  settlementFailure: { rate: 0.002 },
  deliveryDelay: { rate: 0.01, maxMs: 2_000 },
  connectionDrop: { rate: 0.0002 },
};

/** Runs a schedule against the replicas, clusters and broker; `finish` undoes everything. */
export class ChaosRunner {
  /** Events not started yet. */
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Waits inside started events (a cluster down for 5 s...). */
  private readonly wakers = new Set<() => void>();
  private readonly actions = new Set<Promise<void>>();
  readonly executed: ChaosEvent[] = [];
  readonly skipped: ChaosEvent[] = [];
  readonly timeline: string[] = [];
  private startedAt = 0;
  private finished = false;

  constructor(
    private readonly replicas: ReplicaSet,
    private readonly clusters: readonly EmulatedCluster[],
    private readonly broker: ServiceBusEmulator,
    private readonly clientTimeoutMs: number,
  ) {}

  async start(events: readonly ChaosEvent[]): Promise<void> {
    this.startedAt = Date.now();
    await Promise.all(
      this.clusters.map((c, i) => c.faults.set(backgroundFaults(i, this.clientTimeoutMs))),
    );
    this.broker.faults.set(BROKER_BACKGROUND_FAULTS);
    this.log(
      'background faults on: 5% 5xx on pod creates and reads, ~4% ambiguous creates; ' +
        `broker ${JSON.stringify(BROKER_BACKGROUND_FAULTS)}`,
    );
    for (const event of events) {
      this.later(event.at, () => this.run(event));
    }
  }

  /**
   * Stops the schedule, waits for what is under way, clears every fault and (unless the run is
   * being torn down) restarts every replica that is down.
   */
  async finish(options: { restartReplicas: boolean } = { restartReplicas: true }): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const wake of [...this.wakers]) wake();
    while (this.actions.size > 0) await Promise.allSettled([...this.actions]);
    await Promise.all(this.clusters.map((c) => c.faults.clear()));
    this.broker.faults.clear();
    if (!options.restartReplicas) return;
    for (let i = 0; i < this.replicas.count; i += 1) this.replicas.start(i);
    this.log('chaos over: every fault cleared, every replica running');
  }

  private async run(event: ChaosEvent): Promise<void> {
    switch (event.kind) {
      case 'kill':
      case 'sigterm': {
        if (!this.replicas.isRunning(event.replica) || this.replicas.runningCount() < 2) {
          this.skipped.push(event);
          return;
        }
        this.executed.push(event);
        const name = `replica ${event.replica + 1}`;
        if (event.kind === 'kill') {
          this.log(`kill -9 ${name}; restart in ${event.downMs} ms`);
          await this.replicas.kill(event.replica);
        } else {
          this.log(`SIGTERM ${name}; restart ${event.downMs} ms after it exits`);
          await this.replicas.terminate(event.replica);
          this.log(`${name} exited after SIGTERM`);
        }
        await this.pause(event.downMs);
        this.replicas.start(event.replica);
        this.log(`${name} restarted`);
        return;
      }
      case 'cluster-down':
      case 'black-hole': {
        this.executed.push(event);
        const fault: FaultConfig =
          event.kind === 'cluster-down' ? { down: true } : { blackhole: true };
        const cluster = this.cluster(event.cluster);
        this.log(`${event.kind} ${event.cluster} for ${event.forMs} ms`);
        await cluster.faults.set(fault);
        await this.pause(event.forMs);
        await cluster.faults.set(
          event.kind === 'cluster-down' ? { down: false } : { blackhole: null },
        );
        this.log(`${event.cluster} back`);
        return;
      }
      case 'throttle-burst':
        this.executed.push(event);
        this.log(`429 burst on ${event.cluster}: the next ${event.count} requests`);
        await this.cluster(event.cluster).faults.set({
          throttle: { retryAfterSeconds: 1, count: event.count },
        });
        return;
      case 'quota-full': {
        this.executed.push(event);
        const cluster = this.cluster(event.cluster);
        this.log(`quota full on ${event.cluster} for ${event.forMs} ms`);
        await cluster.faults.set({ quotaFull: { quota: 'challenges' } });
        await this.pause(event.forMs);
        await cluster.faults.set({ quotaFull: null });
        this.log(`quota on ${event.cluster} has room again`);
        return;
      }
      case 'broker-connection-drop': {
        this.executed.push(event);
        const dropped = this.broker.faults.dropConnections(event.target);
        this.log(
          `broker dropped ${event.target === 'all' ? 'every' : 'one'} connection (${dropped.length})`,
        );
        return;
      }
      case 'broker-lock-loss': {
        this.executed.push(event);
        this.log(
          `for ${event.forMs} ms, the broker forgets 30% of the locks it hands out, ` +
            `${event.afterMs} ms after handing them out`,
        );
        this.broker.faults.set({ lockLoss: { rate: 0.3, afterMs: event.afterMs } });
        await this.pause(event.forMs);
        this.broker.faults.set({ lockLoss: BROKER_BACKGROUND_FAULTS.lockLoss });
        this.log('locks lost at the background rate again');
        return;
      }
      case 'settlement-hang': {
        this.executed.push(event);
        this.log(`a fifth of settlements never answered for ${event.forMs} ms`);
        this.broker.faults.set({ settlementHang: { rate: 0.2 } });
        await this.pause(event.forMs);
        this.broker.faults.set({ settlementHang: null });
        this.log('settlements answered again');
        return;
      }
    }
  }

  private cluster(name: string): EmulatedCluster {
    const cluster = this.clusters.find((c) => c.name === name);
    if (!cluster) throw new Error(`no cluster ${name}`);
    return cluster;
  }

  /** Runs `action` at `at` ms into the chaos, unless the chaos is over by then. */
  private later(at: number, action: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.finished) return;
      const running = action().finally(() => this.actions.delete(running));
      this.actions.add(running);
    }, at);
    this.timers.add(timer);
  }

  /** A wait inside an event; the end of the chaos cuts it short (finish undoes the fault). */
  private pause(ms: number): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private log(line: string): void {
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    this.timeline.push(`+${seconds}s ${line}`);
  }
}
