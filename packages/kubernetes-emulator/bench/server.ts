/**
 * Child process of the benchmark: runs one emulated cluster and answers the parent over IPC
 * (its address and credentials, its memory use, stop).
 */
import v8 from 'node:v8';

import { startKubernetesEmulator } from '@podbus/kubernetes-emulator';

interface Request {
  type: 'memory' | 'stop';
}

type Gc = (options?: { type: 'major'; execution: 'sync'; flavor?: 'last-resort' }) => void;

const capacity = Number(process.env.BENCH_NODE_CAPACITY ?? '110');
const emulator = await startKubernetesEmulator({
  clusters: [{ name: 'bench', nodeCapacityPods: capacity }],
});
const c = emulator.cluster('bench');
process.send?.({
  type: 'ready',
  server: c.server,
  caPem: c.caPem,
  token: c.serviceAccountToken,
  namespace: c.namespace,
});

process.on('message', (m: Request) => {
  if (m.type === 'memory') void measure();
  else if (m.type === 'stop') void emulator.stop().then(() => process.exit(0));
});

function mb(n: number): number {
  return Math.round(n / 1048576);
}

/**
 * Waits (up to 60 s) for the storage compactor to catch up with the burst (the simulated
 * lifecycle keeps writing, so a small backlog always remains), then reports memory: after an
 * ordinary full GC (what the process holds right after the burst) and after a last-resort GC,
 * which makes V8 return the heap pages it pooled while the burst grew its heap.
 */
async function measure(): Promise<void> {
  const started = Date.now();
  while (c.stats.compactionBacklog > 2000 && Date.now() - started < 60_000)
    await new Promise((r) => setTimeout(r, 200));
  const gc = (globalThis as { gc?: Gc }).gc;
  gc?.({ type: 'major', execution: 'sync' });
  const afterBurst = process.memoryUsage();
  gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const released = process.memoryUsage();
  const cpu = process.cpuUsage();
  process.send?.({
    type: 'memory',
    rssAfterBurstMB: mb(afterBurst.rss),
    heapTotalAfterBurstMB: mb(afterBurst.heapTotal),
    rssMB: mb(released.rss),
    heapUsedMB: mb(released.heapUsed),
    heapTotalMB: mb(released.heapTotal),
    spacesMB: Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .filter((sp) => sp.space_size > 0)
        .map((sp) => [sp.space_name, mb(sp.space_size)]),
    ),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    compactionWaitSeconds: (Date.now() - started) / 1000,
    podsStored: c.listPods(c.namespace).length,
  });
}
