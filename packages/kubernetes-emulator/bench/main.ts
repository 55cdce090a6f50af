/**
 * Benchmark of the Kubernetes API emulator, driven the way podbus drives a cluster:
 * @kubernetes/client-node 2.x with one shared keep-alive undici Agent injected through
 * middleware (specs/kube-api.md), `concurrency` requests in flight.
 *
 *   1. create throughput: `ratePods` pod creates, reported as creates/s and latency percentiles;
 *   2. memory: creates up to `totalPods` stored pods, then the emulator's RSS after a GC;
 *   3. watch fan-out: `watchers` client-node watches on the namespace, `watchPods` more creates,
 *      time until every watcher saw every ADDED event.
 *
 * The emulator runs in a child process (bench/server.ts, the compiled package) so its CPU and
 * RSS are its own. Usage (Node 24 runs the TypeScript directly; `npm run build` first):
 *   node bench/main.ts [--rate-pods 20000] [--total-pods 50000]
 *        [--concurrency 64] [--watchers 50] [--watch-pods 2000] [--node-capacity 110]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import {
  CoreV1Api,
  KubeConfig,
  Observable,
  Watch,
  type ConfigurationOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { Agent, request } from 'undici';

const { values } = parseArgs({
  options: {
    'rate-pods': { type: 'string', default: '20000' },
    'total-pods': { type: 'string', default: '50000' },
    concurrency: { type: 'string', default: '64' },
    watchers: { type: 'string', default: '50' },
    'watch-pods': { type: 'string', default: '2000' },
    'node-capacity': { type: 'string', default: '110' },
    client: { type: 'string', default: 'client-node' },
  },
});
if (values.client !== 'client-node' && values.client !== 'raw') {
  console.error('--client must be client-node or raw');
  process.exit(2);
}
const rawClient = values.client === 'raw';
const ratePods = Number(values['rate-pods']);
const totalPods = Math.max(Number(values['total-pods']), ratePods);
const concurrency = Number(values.concurrency);
const watchers = Number(values.watchers);
const watchPods = Number(values['watch-pods']);

interface Ready {
  type: 'ready';
  server: string;
  caPem: string;
  token: string;
  namespace: string;
}
interface Memory {
  type: 'memory';
  rssAfterBurstMB: number;
  heapTotalAfterBurstMB: number;
  rssMB: number;
  heapUsedMB: number;
  heapTotalMB: number;
  cpuSeconds: number;
  compactionWaitSeconds: number;
  podsStored: number;
}

function startServer(): Promise<{ child: ChildProcess; ready: Ready }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const child = fork(join(here, 'server.ts'), [], {
    // BENCH_SERVER_NODE_OPTIONS: extra Node/V8 flags for the emulator process, e.g.
    // "--max-semi-space-size=16" or "--cpu-prof".
    execArgv: [
      '--expose-gc',
      ...(process.env.BENCH_SERVER_NODE_OPTIONS?.split(' ').filter(Boolean) ?? []),
    ],
    env: { ...process.env, BENCH_NODE_CAPACITY: values['node-capacity'] },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m: Ready) => resolve({ child, ready: m }));
  });
}

function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m: T) => resolve(m));
    child.send({ type });
  });
}

function pod(name: string): V1Pod {
  // The shape podbus creates: one container per image, restartPolicy Never, grace 0.
  return {
    metadata: { name, labels: { messageId: name, 'app.kubernetes.io/managed-by': 'podbus' } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: `${name}-01`.slice(0, 63),
          image: 'registry.example/challenge:1',
          imagePullPolicy: 'Always',
        },
      ],
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * One create. `client-node`: CoreV1Api.createNamespacedPod with the shared dispatcher.
 * `raw`: undici.request with a pre-built JSON body on the same Agent — no client-side model
 * (de)serialization, which isolates the emulator's own cost.
 */
async function createOne(
  core: CoreV1Api,
  namespace: string,
  opts: ConfigurationOptions,
  name: string,
): Promise<void> {
  if (!rawClient) {
    await core.createNamespacedPod({ namespace, body: pod(name) }, opts);
    return;
  }
  const res = await request(`${server}/api/v1/namespaces/${namespace}/pods`, {
    method: 'POST',
    dispatcher: agent,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json',
    },
    body: JSON.stringify(pod(name)),
  });
  await res.body.dump();
  if (res.statusCode !== 201) throw new Error(`HTTP ${res.statusCode}`);
}

async function createMany(
  core: CoreV1Api,
  namespace: string,
  opts: ConfigurationOptions,
  from: number,
  count: number,
): Promise<{ seconds: number; latencies: number[]; errors: number }> {
  let next = from;
  const end = from + count;
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < end) {
      const i = next++;
      const t0 = performance.now();
      try {
        await createOne(core, namespace, opts, `bench-${i}`);
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return {
    seconds: (performance.now() - started) / 1000,
    latencies: latencies.sort((a, b) => a - b),
    errors,
  };
}

const { child, ready } = await startServer();
const server = ready.server;
const token = ready.token;
const agent = new Agent({ connect: { ca: ready.caPem }, connections: concurrency });
const opts = {
  middlewareMergeStrategy: 'append',
  middleware: [
    {
      pre: (ctx: { setDispatcher: (d: unknown) => void; setSignal: (s: AbortSignal) => void }) => {
        ctx.setSignal(AbortSignal.timeout(30_000));
        ctx.setDispatcher(agent);
        return new Observable(Promise.resolve(ctx));
      },
      post: (r: unknown) => new Observable(Promise.resolve(r)),
    },
  ],
} as unknown as ConfigurationOptions;
const kc = new KubeConfig();
kc.loadFromClusterAndUser(
  {
    name: 'bench',
    server: ready.server,
    caData: Buffer.from(ready.caPem).toString('base64'),
    skipTLSVerify: false,
  },
  { name: 'bench', token: ready.token },
);
const core = kc.makeApiClient(CoreV1Api);
const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: (await import('node:os')).cpus().length,
  concurrency,
  client: values.client,
};

try {
  // Warm-up (JIT, TLS sessions).
  await createMany(core, ready.namespace, opts, 0, 500);

  const rate = await createMany(core, ready.namespace, opts, 500, ratePods);
  report.create = {
    pods: ratePods,
    seconds: Number(rate.seconds.toFixed(2)),
    createsPerSecond: Math.round(ratePods / rate.seconds),
    p50ms: Number(percentile(rate.latencies, 50).toFixed(1)),
    p99ms: Number(percentile(rate.latencies, 99).toFixed(1)),
    errors: rate.errors,
  };
  console.log('create', JSON.stringify(report.create));

  const stored = 500 + ratePods;
  if (totalPods > stored) {
    const fill = await createMany(core, ready.namespace, opts, stored, totalPods - stored);
    if (fill.errors > 0) console.log('fill errors', fill.errors);
  }
  await new Promise((r) => setTimeout(r, 1000)); // let the scheduler write its conditions
  const mem = await ask<Memory>(child, 'memory');
  const { type: _t, ...memory } = mem;
  report.memory = {
    ...memory,
    cpuSeconds: Number(mem.cpuSeconds.toFixed(1)),
    clientCpuSeconds: Number(
      ((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(1),
    ),
  };

  console.log('memory', JSON.stringify(report.memory));

  // Watch fan-out.
  const list = await core.listNamespacedPod({ namespace: ready.namespace, limit: 1 }, opts);
  const rv = list.metadata!.resourceVersion!;
  const counts = new Array<number>(watchers).fill(0);
  let events = 0;
  const controllers: AbortController[] = [];
  const prefix = 'fanout-';
  for (let w = 0; w < watchers; w++) {
    controllers.push(
      await new Watch(kc).watch(
        `/api/v1/namespaces/${ready.namespace}/pods`,
        { resourceVersion: rv },
        (type, obj: { metadata?: { name?: string } }) => {
          events++;
          if (type === 'ADDED' && obj.metadata?.name?.startsWith(prefix)) counts[w]!++;
        },
        () => undefined,
      ),
    );
  }
  const t0 = performance.now();
  let n = 0;
  const end = watchPods;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (n < end) {
        const i = n++;
        await createOne(core, ready.namespace, opts, `${prefix}${i}`).catch(() => undefined);
      }
    }),
  );
  const createdAt = performance.now();
  while (counts.some((c) => c < watchPods) && performance.now() - t0 < 120_000)
    await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - t0) / 1000;
  for (const c of controllers) c.abort();
  report.watch = {
    watchers,
    pods: watchPods,
    createSeconds: Number(((createdAt - t0) / 1000).toFixed(2)),
    allDeliveredSeconds: Number(seconds.toFixed(2)),
    eventsDelivered: events,
    eventsPerSecond: Math.round(events / seconds),
    complete: counts.every((c) => c >= watchPods),
  };
  console.log('watch', JSON.stringify(report.watch));
} finally {
  await agent.close();
  const exited = new Promise((r) => child.once('exit', r));
  child.send({ type: 'stop' });
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  child.kill();
}
console.log(JSON.stringify(report, null, 2));
