/**
 * Worker benchmark: messages -> pods per second through the real worker process
 * (`podbus run`), the real SDK and client-node, against both emulators in another process.
 *
 * Every variant runs in the same invocation, in interleaved rounds (A B C, A B C, ...), and is
 * reported as a median and as a ratio to the first variant, because the machines are shared
 * and noisy: absolute numbers move from run to run, ratios measured side by side much less.
 *
 * Variants: maxConcurrentCalls 1 / 8 / 32 with the `hash` strategy (first deliveries skip
 * the duplicate lookup), and the shipped defaults (`least-loaded`, 8), whose first
 * deliveries look for an existing pod in the trackers' watch caches, to show what that costs.
 *
 * Run: npm run build && node bench/worker/run.ts [--messages 2000] [--rounds 3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { ServiceBusClient } from '@azure/service-bus';
import { stringify } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const MESSAGES = flag('--messages', 2_000);
const ROUNDS = flag('--rounds', 3);

interface Variant {
  readonly name: string;
  readonly maxConcurrentCalls: number;
  readonly strategy: 'hash' | 'least-loaded';
}

const VARIANTS: readonly Variant[] = [
  { name: 'hash, maxConcurrentCalls 1', maxConcurrentCalls: 1, strategy: 'hash' },
  { name: 'hash, maxConcurrentCalls 8', maxConcurrentCalls: 8, strategy: 'hash' },
  { name: 'hash, maxConcurrentCalls 32', maxConcurrentCalls: 32, strategy: 'hash' },
  // The shipped defaults: a best-effort duplicate lookup per first delivery.
  {
    name: 'least-loaded, maxConcurrentCalls 8 (defaults)',
    maxConcurrentCalls: 8,
    strategy: 'least-loaded',
  },
];

interface Stack {
  connectionString: string;
  clusters: { name: string; server: string; caFile: string; token: string; namespace: string }[];
}

async function startEmulators(): Promise<{ child: ChildProcess; stack: Stack }> {
  const child = spawn(process.execPath, [join(here, 'emulators-process.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulators exited with ${code}`)));
  });
  return { child, stack: JSON.parse(line) as Stack };
}

async function enqueue(connectionString: string, count: number): Promise<void> {
  const client = new ServiceBusClient(connectionString);
  const sender = client.createSender('challenges');
  const body = { challengeId: 'bench', containers: [{ image: 'docker.io/library/busybox:1.36' }] };
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => ({
      messageId: `bench-${i + j}`,
      body,
    }));
    await sender.sendMessages(batch);
  }
  await client.close();
}

/** Messages settled so far, from the worker's /metrics (undefined until it listens). */
async function settledCount(port: number): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return [...text.matchAll(/^podbus_messages_settled_total\{[^}]*\} (\d+)/gm)]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
  } catch {
    return undefined;
  }
}

/**
 * Steady-state rate: from the moment 10% of the messages are settled to the moment all are,
 * so the worker's start-up (module loading, connecting, first list of pods) is left out.
 */
async function steadyRate(port: number, count: number): Promise<number> {
  const warm = Math.ceil(count * 0.1);
  let warmAt: number | undefined;
  for (;;) {
    const settled = await settledCount(port);
    if (settled !== undefined && settled >= warm && warmAt === undefined)
      warmAt = performance.now();
    if (settled !== undefined && settled >= count && warmAt !== undefined) {
      return (count - warm) / ((performance.now() - warmAt) / 1000);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function runOnce(variant: Variant, port: number): Promise<number> {
  const { child: emulators, stack } = await startEmulators();
  const dir = mkdtempSync(join(tmpdir(), 'podbus-worker-bench-'));
  try {
    await enqueue(stack.connectionString, MESSAGES);
    const configFile = join(dir, 'podbus.yaml');
    writeFileSync(
      configFile,
      stringify({
        serviceBus: { maxConcurrentCalls: variant.maxConcurrentCalls },
        clusters: stack.clusters,
        selection: { strategy: variant.strategy },
        policy: { allowedImages: ['docker.io/library/*'] },
        http: { enabled: true, host: '127.0.0.1', port },
        log: { level: 'warn' },
      }),
    );
    const worker = spawn(
      process.execPath,
      [join(repo, 'bin/podbus.js'), 'run', '--config', configFile],
      {
        env: { ...process.env, PODBUS_SERVICE_BUS_CONNECTION_STRING: stack.connectionString },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const rate = await steadyRate(port, MESSAGES);
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    return rate;
  } finally {
    emulators.kill('SIGTERM');
    await new Promise((r) => emulators.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const results = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
const port = 19_000 + Math.floor(Math.random() * 1000);
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const variant of VARIANTS) {
    const rate = await runOnce(variant, port);
    results.get(variant.name)!.push(rate);
    process.stderr.write(`round ${round}: ${variant.name}: ${rate.toFixed(0)} msg/s\n`);
  }
}

const baseline = median(results.get(VARIANTS[0]!.name)!);
console.log(
  `\nWorker throughput, ${MESSAGES} messages per run, ${ROUNDS} interleaved rounds, ` +
    `${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`,
);
console.log('(received -> pod created -> completed; steady state: from 10% settled to 100%)\n');
console.log('| variant | median msg/s | runs | vs. first |');
console.log('| --- | ---: | --- | ---: |');
for (const variant of VARIANTS) {
  const rates = results.get(variant.name)!;
  console.log(
    `| ${variant.name} | ${median(rates).toFixed(0)} | ${rates.map((r) => r.toFixed(0)).join(', ')} | ${(median(rates) / baseline).toFixed(2)}x |`,
  );
}
