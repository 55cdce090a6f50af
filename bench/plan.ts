import type { ConsumerKind } from './consumers/consumers.ts';

/** One measured run: a consumer against fresh emulators. */
export interface RunSpec {
  /** The row group it belongs to, e.g. "100 ms, concurrency 64". */
  readonly group: string;
  readonly consumer: ConsumerKind;
  readonly latencyMs: number;
  readonly concurrency: number;
  readonly replicas: number;
  readonly clusters: number;
  /**
   * backlog: the messages are queued first and the consumer drains them (its maximum rate);
   * paced: sent at `paceOf` of the consumer's maximum in `paceGroup` (same round), for latency.
   */
  readonly load:
    | { readonly kind: 'backlog'; readonly messages: number }
    | {
        readonly kind: 'paced';
        readonly paceOf: number;
        readonly paceGroup: string;
        readonly seconds: number;
      };
  readonly clusterSettings?: Record<string, unknown>;
}

export interface Plan {
  /** Run in every round, in this order (later paced runs use earlier rates of the round). */
  readonly rounds: readonly RunSpec[];
  readonly memory: { readonly messagesPerBurst: number; readonly bursts: number };
}

export const LATENCY_MS = 100;
/** The rate-limit rows: one cluster, each replica limited to 50 requests/s (burst 1.5 x). */
export const RATE_LIMIT = { qps: 50, burst: 75 } as const;
export const RATE_LIMIT_GROUP = `rate limit qps ${RATE_LIMIT.qps}, one cluster, concurrency 8 each`;

export function benchPlan(quick: boolean): Plan {
  const n = (full: number) => Math.round(quick ? full / 3 : full);
  const run = (
    group: string,
    consumer: ConsumerKind,
    latencyMs: number,
    concurrency: number,
    messages: number,
    extra: Partial<RunSpec> = {},
  ): RunSpec => ({
    group,
    consumer,
    latencyMs,
    concurrency,
    replicas: 1,
    clusters: 2,
    load: { kind: 'backlog', messages: n(messages) },
    ...extra,
  });
  const c64 = `${LATENCY_MS} ms, concurrency 64`;
  const scaleOut = `scale-out, ${LATENCY_MS} ms, concurrency 8 each`;
  const rounds: RunSpec[] = [
    run('no latency, concurrency 8', 'one-at-a-time', 0, 1, 300),
    run('no latency, concurrency 8', 'floor', 0, 8, 1500),
    run('no latency, concurrency 8', 'podbus', 0, 8, 1500),
    ...[8, 32].flatMap((c) =>
      (['floor', 'podbus'] as const).map((kind) =>
        run(`${LATENCY_MS} ms, concurrency ${c}`, kind, LATENCY_MS, c, c * 25),
      ),
    ),
    run(c64, 'one-at-a-time', LATENCY_MS, 1, 45),
    run(c64, 'floor', LATENCY_MS, 64, 2000),
    run(c64, 'podbus', LATENCY_MS, 64, 2000),
    ...(['floor', 'podbus'] as const).map((kind) =>
      run(`${c64}, paced at 50% of its maximum`, kind, LATENCY_MS, 64, 0, {
        load: { kind: 'paced', paceOf: 0.5, paceGroup: c64, seconds: quick ? 4 : 10 },
      }),
    ),
    ...[1, 2, 4].map((replicas) =>
      run(scaleOut, 'podbus', LATENCY_MS, 8, 600 * replicas, { replicas }),
    ),
    // A backlog far above the limit: each replica must pace itself to qps on the one cluster.
    ...[1, 4].map((replicas) =>
      run(RATE_LIMIT_GROUP, 'podbus', 0, 8, 15 * RATE_LIMIT.qps * replicas, {
        replicas,
        clusters: 1,
        clusterSettings: { ...RATE_LIMIT },
      }),
    ),
  ];
  return {
    rounds: quick ? rounds.filter(inQuickRun) : rounds,
    memory: { messagesPerBurst: 10_000, bursts: 3 },
  };
}

/**
 * What `--quick` keeps: the ratios someone changing the hot path needs (podbus against the
 * floor without latency and at 100 ms / 64, the concurrency curve, the latency at half load),
 * not the seed's loop, the floor's own curve, scale-out or memory.
 */
function inQuickRun(spec: RunSpec): boolean {
  if (spec.consumer === 'one-at-a-time' || spec.replicas > 1) return false;
  if (spec.group.startsWith('scale-out') || spec.clusterSettings !== undefined) return false;
  if (spec.load.kind === 'paced') return spec.consumer === 'podbus';
  return spec.consumer === 'podbus' || spec.concurrency === 64 || spec.latencyMs === 0;
}
