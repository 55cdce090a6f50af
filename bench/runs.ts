import { startConsumer, type Consumer } from './consumers/consumers.ts';
import { enqueueBacklog, enqueuePaced } from './measure/enqueue.ts';
import { PodWatch } from './measure/pod-watch.ts';
import { cpuMs, machineTicks, rssBytes, RssSampler } from './measure/proc.ts';
import { maxInWindow, percentile } from './measure/stats.ts';
import type { RunSpec } from './plan.ts';
import { startStack, type Stack } from './stack/stack.ts';

/** What one run measured. Rates and CPU cover the steady window only (see `measureWindow`). */
export interface RunResult {
  readonly spec: RunSpec;
  readonly round: number;
  readonly messages: number;
  /** Pods created per second. */
  readonly rate: number;
  /** CPU of the consumer's processes per message (all replicas). */
  readonly cpuMsPerMessage: number;
  /** Share of the whole machine's CPU that was busy (every process, every core). */
  readonly machineBusy: number;
  /** Peak RSS of the consumer's processes, summed over replicas. */
  readonly rssPeakBytes: number;
  /** podbus: spawn -> /readyz 200, per process. */
  readonly readyMs: readonly number[];
  /** Paced runs: enqueue -> pod seen at the API server, in ms. */
  readonly latency?: { readonly p50: number; readonly p99: number; readonly samples: number };
  /** Per cluster, over the window: creates/s, and the most creates in any one second. */
  readonly perCluster: readonly { name: string; rate: number; maxInOneSecond: number }[];
}

interface Running {
  readonly stack: Stack;
  readonly watch: PodWatch;
}

/** Fresh emulators and a pod watch for one run; torn down whatever happens. */
async function withStack<T>(spec: RunSpec, body: (r: Running) => Promise<T>): Promise<T> {
  const stack = await startStack({ clusters: spec.clusters, latencyMs: spec.latencyMs });
  let watch: PodWatch | undefined;
  try {
    watch = await PodWatch.start(stack.clusters);
    return await body({ stack, watch });
  } finally {
    await watch?.stop();
    await stack.stop();
  }
}

function idsFor(spec: RunSpec, round: number, count: number): string[] {
  const tag = `r${round}-${spec.consumer}-${Math.random().toString(36).slice(2, 7)}`;
  return Array.from({ length: count }, (_, i) => `${tag}-${i}`);
}

/**
 * The consumer drains a backlog: its maximum rate, from 10% of the pods created (plus a rate
 * limit's bursts) to 100%.
 */
export async function backlogRun(spec: RunSpec, round: number): Promise<RunResult> {
  if (spec.load.kind !== 'backlog') throw new Error('not a backlog run');
  const messages = spec.load.messages;
  return withStack(spec, async ({ stack, watch }) => {
    await enqueueBacklog(stack.connectionString, idsFor(spec, round, messages));
    const consumer = await startConsumer(stack, { kind: spec.consumer, ...spec });
    try {
      // A rate limit's burst goes out at once: the steady window starts after every replica's.
      const burst = Number(spec.clusterSettings?.burst ?? 0) * spec.replicas;
      const from = Math.ceil(messages * 0.1) + burst;
      const window = await measureWindow(watch, consumer, from, messages);
      return result(spec, round, messages, window, watch, consumer);
    } finally {
      await consumer.stop();
    }
  });
}

/**
 * Messages sent at a fixed rate (open loop) to an idle consumer: enqueue -> pod latency. The
 * first second of messages is left out (connections, JIT).
 */
export async function pacedRun(
  spec: RunSpec,
  round: number,
  perSecond: number,
): Promise<RunResult> {
  if (spec.load.kind !== 'paced') throw new Error('not a paced run');
  const messages = Math.max(20, Math.round(perSecond * spec.load.seconds));
  return withStack(spec, async ({ stack, watch }) => {
    const consumer = await startConsumer(stack, { kind: spec.consumer, ...spec });
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      const ids = idsFor(spec, round, messages);
      const sending = enqueuePaced(stack.connectionString, ids, perSecond);
      const window = await measureWindow(watch, consumer, Math.ceil(perSecond), messages);
      const sentAt = await sending;
      const latencies = ids
        .slice(Math.ceil(perSecond))
        .map((id) => watch.created.get(id)!.at - sentAt.get(id)!);
      const latency = {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        samples: latencies.length,
      };
      return { ...result(spec, round, messages, window, watch, consumer), latency };
    } finally {
      await consumer.stop();
    }
  });
}

interface Window {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly cpuMs: number;
  readonly machineBusy: number;
  readonly rssPeakBytes: number;
}

/** From the `from`-th pod seen to the `to`-th: time, the consumer's CPU, the machine's load. */
async function measureWindow(
  watch: PodWatch,
  consumer: Consumer,
  from: number,
  to: number,
): Promise<Window> {
  const rss = new RssSampler(consumer.pids);
  const timeoutMs = 60_000 + to * 50;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`only ${watch.count} of ${to} pods after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const start = await Promise.race([watch.reach(from), timeout]);
    const cpuStart = cpuMs(consumer.pids);
    const machineStart = machineTicks();
    const end = await Promise.race([watch.reach(to), timeout]);
    const machineEnd = machineTicks();
    return {
      from: start,
      to: end,
      count: to - from,
      cpuMs: cpuMs(consumer.pids) - cpuStart,
      machineBusy:
        (machineEnd.busy - machineStart.busy) / Math.max(1, machineEnd.total - machineStart.total),
      rssPeakBytes: Math.max(rss.peak, rssBytes(consumer.pids)),
    };
  } finally {
    clearTimeout(timer);
    rss.stop();
  }
}

function result(
  spec: RunSpec,
  round: number,
  messages: number,
  window: Window,
  watch: PodWatch,
  consumer: Consumer,
): RunResult {
  const seconds = (window.to - window.from) / 1000;
  const perCluster = [...new Set([...watch.created.values()].map((p) => p.cluster))]
    .sort()
    .map((name) => {
      const times = watch
        .timesOn(name)
        .filter((t) => t > window.from && t <= window.to)
        .sort((a, b) => a - b);
      return { name, rate: times.length / seconds, maxInOneSecond: maxInWindow(times, 1_000) };
    });
  return {
    spec,
    round,
    messages,
    rate: window.count / seconds,
    cpuMsPerMessage: window.cpuMs / window.count,
    machineBusy: window.machineBusy,
    rssPeakBytes: window.rssPeakBytes,
    readyMs: consumer.readyMs,
    perCluster,
  };
}
