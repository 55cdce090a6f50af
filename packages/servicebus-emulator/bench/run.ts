/**
 * Service Bus emulator benchmark (issue 2, "Performance"). Uses the real @azure/service-bus SDK
 * against the emulator running in a child process, and reports:
 *   - send throughput: sendMessages() in batches of 100 (a few batches in flight),
 *   - receive+complete throughput: subscribe() with maxConcurrentCalls 32, autoComplete,
 *   - for both, messages per CPU-second the emulator process used: its throughput on one core,
 *     independent of what else runs on the machine (Linux /proc),
 *   - the emulator process's RSS idle, with 100,000 queued 1 KB messages, and after draining.
 *
 * Run (Node 24 runs this TypeScript file directly; the emulator runs from the compiled dist/):
 *   npm run build && node bench/run.ts (in packages/servicebus-emulator) [--messages 20000] [--queued 100000] [--data-dir]
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { ServiceBusClient } from '@azure/service-bus';
import type { ServiceBusMessage } from '@azure/service-bus';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const THROUGHPUT_MESSAGES = flag('--messages', 20_000);
const QUEUED_MESSAGES = flag('--queued', 100_000);
const USE_JOURNAL = args.includes('--data-dir');
const BATCH = 100;
const IN_FLIGHT_BATCHES = 4;
const MAX_CONCURRENT_CALLS = 32;
const BODY = Buffer.alloc(1024, 'x');
const QUEUE = 'bench';
/** The emulator gives memory back once it has been quiet for a few seconds (memory-reducer.ts). */
const SETTLE_MS = 5_000;

interface Emulator {
  child: ChildProcess;
  connectionString: string;
  dataDir: string | undefined;
}

async function startEmulator(): Promise<Emulator> {
  const dataDir = USE_JOURNAL ? mkdtempSync(join(tmpdir(), 'podbus-sb-bench-')) : undefined;
  const options = {
    config: {
      UserConfig: {
        Namespaces: [
          { Name: 'sbemulatorns', Queues: [{ Name: QUEUE, Properties: { MaxDeliveryCount: 10 } }] },
        ],
      },
    },
    ...(dataDir ? { dataDir } : {}),
  };
  const child = spawn(
    process.execPath,
    [join(here, 'emulator-process.mjs'), JSON.stringify(options)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const firstLine = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve(line));
    child.once('exit', (code) =>
      reject(new Error(`emulator exited (${code}); did you run npm run build?`)),
    );
  });
  return { child, connectionString: firstLine, dataDir };
}

function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return (
      Number(
        execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
          .toString()
          .trim(),
      ) / 1024
    );
  }
}

/** CPU seconds (user + system) the process has used so far, or NaN where /proc is missing. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ ticks
  } catch {
    return NaN;
  }
}

/** Runs a phase; reports its rate and the messages the emulator handled per CPU-second. */
async function measured(pid: number, count: number, phase: () => Promise<number>): Promise<string> {
  const before = cpuSeconds(pid);
  const rate = await phase();
  const cpu = cpuSeconds(pid) - before;
  const perCpu = cpu > 0 ? `${(count / cpu).toFixed(0)} per emulator CPU-second` : 'CPU n/a';
  return `${rate.toFixed(0)} msg/s  (${perCpu})`;
}

async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function send(client: ServiceBusClient, count: number): Promise<number> {
  const sender = client.createSender(QUEUE);
  const batches: ServiceBusMessage[][] = [];
  for (let i = 0; i < count; i += BATCH) {
    batches.push(
      Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => ({
        body: BODY,
        messageId: `m-${i + j}`,
      })),
    );
  }
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT_BATCHES }, async () => {
      while (next < batches.length) await sender.sendMessages(batches[next++]!);
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await sender.close();
  return count / seconds;
}

async function receiveAndComplete(client: ServiceBusClient, count: number): Promise<number> {
  const receiver = client.createReceiver(QUEUE);
  let received = 0;
  let start = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const subscription = receiver.subscribe(
    {
      processMessage: async () => {
        if (received === 0) start = performance.now();
        if (++received === count) done();
      },
      processError: async (args) => {
        console.error(`receive error (${args.errorSource}): ${args.error.message}`);
      },
    },
    { maxConcurrentCalls: MAX_CONCURRENT_CALLS, autoCompleteMessages: true },
  );
  await finished;
  const seconds = (performance.now() - start) / 1000;
  await subscription.close();
  await receiver.close();
  return count / seconds;
}

async function main(): Promise<void> {
  const emulator = await startEmulator();
  const pid = emulator.child.pid!;
  const client = new ServiceBusClient(emulator.connectionString);
  const rows: [string, string][] = [];
  const rss = (): string => `${rssMiB(pid).toFixed(0)} MiB`;
  try {
    await settle(500);
    rows.push(['emulator RSS, idle', rss()]);

    await send(client, 1_000); // warm-up
    await receiveAndComplete(client, 1_000);

    rows.push([
      `send, ${THROUGHPUT_MESSAGES} x 1 KB, batches of ${BATCH}`,
      await measured(pid, THROUGHPUT_MESSAGES, () => send(client, THROUGHPUT_MESSAGES)),
    ]);
    rows.push([
      `receive+complete, ${THROUGHPUT_MESSAGES}, maxConcurrentCalls ${MAX_CONCURRENT_CALLS}`,
      await measured(pid, THROUGHPUT_MESSAGES, () =>
        receiveAndComplete(client, THROUGHPUT_MESSAGES),
      ),
    ]);

    rows.push([
      `send, ${QUEUED_MESSAGES} x 1 KB`,
      await measured(pid, QUEUED_MESSAGES, () => send(client, QUEUED_MESSAGES)),
    ]);
    rows.push([`emulator RSS, ${QUEUED_MESSAGES} x 1 KB queued, right after the burst`, rss()]);
    await settle(SETTLE_MS);
    rows.push([
      `emulator RSS, ${QUEUED_MESSAGES} x 1 KB queued, ${SETTLE_MS / 1000} s later`,
      rss(),
    ]);
    rows.push([
      `receive+complete, draining ${QUEUED_MESSAGES}`,
      await measured(pid, QUEUED_MESSAGES, () => receiveAndComplete(client, QUEUED_MESSAGES)),
    ]);
    await settle(SETTLE_MS);
    rows.push([`emulator RSS, drained, ${SETTLE_MS / 1000} s later`, rss()]);
  } finally {
    await client.close();
    emulator.child.kill('SIGTERM');
    await new Promise((r) => emulator.child.once('exit', r));
    if (emulator.dataDir) rmSync(emulator.dataDir, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(
    `podbus Service Bus emulator benchmark (${USE_JOURNAL ? 'journal in --data-dir' : 'in memory'}; ` +
      `Node ${process.version}; ${cpus().length} CPU(s): ${cpus()[0]?.model ?? 'unknown'}; ` +
      `load average ${loadavg()[0]?.toFixed(1)})`,
  );
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}

await main();
