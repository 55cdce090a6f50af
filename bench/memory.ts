import { startConsumer } from './consumers/consumers.ts';
import { enqueueBacklog } from './measure/enqueue.ts';
import { importCosts, type ImportCost } from './measure/import-cost.ts';
import { PodWatch } from './measure/pod-watch.ts';
import { cpuMs, rssBytes, RssSampler } from './measure/proc.ts';
import { startStack } from './stack/stack.ts';

export interface MemoryResult {
  readonly messagesPerBurst: number;
  readonly nodeOptions: string;
  /** Ready, then quiet for 2 s: RSS as it is, then the heap after a full GC. */
  readonly idle: MemorySample;
  /** After each burst: RSS right after its last pod and its peak, then the heap after a full GC. */
  readonly bursts: readonly (MemorySample & {
    readonly rssPeak: number;
    cpuMsPerMessage: number;
  })[];
  /** Heap kept per message from the first burst to the last, after full GCs (bytes). */
  readonly heapGrowthPerMessage: number;
  readonly readyMs: number;
  /** What the idle figures are made of: bare Node, then each module imported alone over it. */
  readonly imports: { readonly bare: ImportCost; readonly modules: readonly ImportCost[] };
}

export interface MemorySample {
  /** Resident set size as the process left it (no forced GC). */
  readonly rss: number;
  /** The V8 heap and external memory after a forced full GC: what is really kept. */
  readonly afterGc: {
    /** RSS once the GC has given pages back: what is left grows outside the heap, if anything. */
    readonly rss: number;
    readonly heapUsed: number;
    readonly heapTotal: number;
    readonly external: number;
    readonly arrayBuffers: number;
  };
}

/**
 * Memory of one podbus process with the shipped defaults and the Deployment's NODE_OPTIONS:
 * idle, then after bursts of `messagesPerBurst` queued messages. Pods are deleted once created
 * (as cleanup would), so the watch caches hold what a cluster holds. The heap after a full GC
 * at the end of each burst shows whether anything is kept per message (it would grow from
 * burst to burst).
 */
export async function memoryRun(messagesPerBurst: number, bursts: number): Promise<MemoryResult> {
  const stack = await startStack({ clusters: 2, latencyMs: 0 });
  const watch = await PodWatch.start(stack.clusters, { deleteCreated: true });
  const consumer = await startConsumer(stack, { kind: 'podbus', concurrency: 8, inspect: true });
  const inspector = consumer.inspectors[0]!;
  const sample = async (): Promise<MemorySample> => {
    const rss = rssBytes(consumer.pids);
    await inspector.collectGarbage();
    const { heapUsed, heapTotal, external, arrayBuffers } = await inspector.memoryUsage();
    return {
      rss,
      afterGc: { rss: rssBytes(consumer.pids), heapUsed, heapTotal, external, arrayBuffers },
    };
  };
  try {
    await new Promise((r) => setTimeout(r, 2_000));
    const idle = await sample();
    const results: MemoryResult['bursts'][number][] = [];
    for (let burst = 0; burst < bursts; burst += 1) {
      const sampler = new RssSampler(consumer.pids);
      const ids = Array.from({ length: messagesPerBurst }, (_, i) => `memory-${burst}-${i}`);
      const cpuBefore = cpuMs(consumer.pids);
      await enqueueBacklog(stack.connectionString, ids);
      await watch.reach(messagesPerBurst * (burst + 1));
      // The last completions are on their way; then the process is idle again.
      await new Promise((r) => setTimeout(r, 1_000));
      const cpuMsPerMessage = (cpuMs(consumer.pids) - cpuBefore) / messagesPerBurst;
      sampler.stop();
      results.push({ ...(await sample()), rssPeak: sampler.peak, cpuMsPerMessage });
    }
    const first = results[0]!.afterGc.heapUsed;
    const last = results.at(-1)!.afterGc.heapUsed;
    return {
      messagesPerBurst,
      nodeOptions: consumer.nodeOptions,
      idle,
      bursts: results,
      heapGrowthPerMessage:
        bursts > 1 ? (last - first) / (messagesPerBurst * (bursts - 1)) : Number.NaN,
      readyMs: consumer.readyMs[0]!,
      imports: importCosts(consumer.nodeOptions),
    };
  } finally {
    await consumer.stop();
    await watch.stop();
    await stack.stop();
  }
}
