import { startConsumer } from './consumers/consumers.ts';
import { enqueueBacklog } from './measure/enqueue.ts';
import { PodWatch } from './measure/pod-watch.ts';
import { rssBytes, RssSampler } from './measure/proc.ts';
import { startStack } from './stack/stack.ts';

export interface MemoryResult {
  readonly messagesPerBurst: number;
  /** Ready, then quiet for 2 s. */
  readonly idle: MemorySample;
  /** After each burst: right after its last pod (`rss`), and after a forced full GC. */
  readonly bursts: readonly { rssAfter: number; rssPeak: number; afterGc: MemorySample }[];
  /** Heap kept per message from the first burst to the last, after full GCs (bytes). */
  readonly heapGrowthPerMessage: number;
  readonly readyMs: number;
}

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/**
 * Memory of one podbus process with the shipped defaults: idle, then after bursts of
 * `messagesPerBurst` queued messages. The heap after a full GC at the end of each burst shows
 * whether anything is kept per message (it would grow from burst to burst).
 */
export async function memoryRun(messagesPerBurst: number, bursts: number): Promise<MemoryResult> {
  const stack = await startStack({ clusters: 2, latencyMs: 0 });
  const watch = await PodWatch.start(stack.clusters);
  const consumer = await startConsumer(stack, { kind: 'podbus', concurrency: 8, inspect: true });
  const inspector = consumer.inspectors[0]!;
  const sample = async (): Promise<MemorySample> => {
    await inspector.collectGarbage();
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = await inspector.memoryUsage();
    return { rss, heapUsed, heapTotal, external, arrayBuffers };
  };
  try {
    await new Promise((r) => setTimeout(r, 2_000));
    const idle = await sample();
    const results: MemoryResult['bursts'][number][] = [];
    for (let burst = 0; burst < bursts; burst += 1) {
      const sampler = new RssSampler(consumer.pids);
      const ids = Array.from({ length: messagesPerBurst }, (_, i) => `memory-${burst}-${i}`);
      await enqueueBacklog(stack.connectionString, ids);
      await watch.reach(messagesPerBurst * (burst + 1));
      // The last completions are on their way; then the process is idle again.
      await new Promise((r) => setTimeout(r, 1_000));
      const rssAfter = rssBytes(consumer.pids);
      sampler.stop();
      results.push({ rssAfter, rssPeak: sampler.peak, afterGc: await sample() });
    }
    const first = results[0]!.afterGc.heapUsed;
    const last = results.at(-1)!.afterGc.heapUsed;
    return {
      messagesPerBurst,
      idle,
      bursts: results,
      heapGrowthPerMessage:
        bursts > 1 ? (last - first) / (messagesPerBurst * (bursts - 1)) : Number.NaN,
      readyMs: consumer.readyMs[0]!,
    };
  } finally {
    await consumer.stop();
    await watch.stop();
    await stack.stop();
  }
}
