import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { parseAllDocuments, stringify } from 'yaml';

import { Inspector } from '../measure/inspector.ts';
import { stopChild, type Stack } from '../stack/stack.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

export type ConsumerKind = 'one-at-a-time' | 'floor' | 'podbus';

export interface ConsumerOptions {
  readonly kind: ConsumerKind;
  /** maxConcurrentCalls (ignored by the one-at-a-time loop). */
  readonly concurrency: number;
  /** podbus processes (competing consumers); the plain consumers run one. */
  readonly replicas?: number;
  /**
   * Extra settings of each podbus cluster entry. The rate limit is off (`qps: 0`) unless given:
   * the floor has none, and the throughput rows measure what the worker can do.
   */
  readonly clusterSettings?: Record<string, unknown>;
  /** Opens the inspector of each podbus process (forced GC and heap figures). */
  readonly inspect?: boolean;
}

/** One running consumer: its processes (for CPU and RSS), and how long podbus took to be ready. */
export interface Consumer {
  readonly pids: readonly number[];
  /** Per podbus process: spawn -> /readyz answers 200. */
  readonly readyMs: readonly number[];
  /** Per podbus process, when `inspect` was asked for. */
  readonly inspectors: readonly Inspector[];
  /** podbus's /metrics ports. */
  readonly metricsPorts: readonly number[];
  /** The NODE_OPTIONS podbus processes ran with (empty for the plain consumers). */
  readonly nodeOptions: string;
  stop(): Promise<void>;
}

/**
 * podbus processes run with the NODE_OPTIONS of the shipped Deployment (heap bounds), so the
 * memory the bench measures is the deployed process's. BENCH_NODE_OPTIONS overrides it
 * (to try other bounds).
 */
export const PODBUS_NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? deploymentNodeOptions();

function deploymentNodeOptions(): string {
  const file = join(repo, 'deploy/worker/base/deployment.yaml');
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const deployment = doc.toJS() as {
      spec?: {
        template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } };
      };
    };
    const env = deployment.spec?.template?.spec?.containers?.[0]?.env ?? [];
    const value = env.find((e) => e.name === 'NODE_OPTIONS')?.value;
    if (value !== undefined) return value;
  }
  throw new Error(`no NODE_OPTIONS in ${file}`);
}

let nextPort = 19_000 + Math.floor(Math.random() * 1_000) * 10;

export async function startConsumer(stack: Stack, options: ConsumerOptions): Promise<Consumer> {
  if (options.kind === 'podbus') return startPodbus(stack, options);
  const args = JSON.stringify({
    connectionString: stack.connectionString,
    clusters: stack.clusters,
    concurrency: options.concurrency,
  });
  const child = fork(join(here, `${options.kind}.ts`), [args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${options.kind} exited with ${code}`)));
  });
  return {
    pids: [child.pid!],
    readyMs: [],
    inspectors: [],
    metricsPorts: [],
    nodeOptions: '',
    stop: () => stopChild(child),
  };
}

async function startPodbus(stack: Stack, options: ConsumerOptions): Promise<Consumer> {
  const dir = mkdtempSync(join(tmpdir(), 'podbus-bench-'));
  const replicas = options.replicas ?? 1;
  const started = await Promise.all(
    Array.from({ length: replicas }, (_, i) => startPodbusProcess(stack, options, dir, i)),
  );
  return {
    pids: started.map((s) => s.child.pid!),
    readyMs: started.map((s) => s.readyMs),
    inspectors: started.flatMap((s) => (s.inspector ? [s.inspector] : [])),
    metricsPorts: started.map((s) => s.port),
    nodeOptions: PODBUS_NODE_OPTIONS,
    stop: async () => {
      for (const s of started) s.inspector?.close();
      await Promise.all(started.map((s) => stopChild(s.child)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startPodbusProcess(
  stack: Stack,
  options: ConsumerOptions,
  dir: string,
  index: number,
): Promise<{ child: ChildProcess; readyMs: number; port: number; inspector?: Inspector }> {
  const port = nextPort++;
  const configFile = join(dir, `podbus-${index}.yaml`);
  writeFileSync(
    configFile,
    stringify({
      serviceBus: { maxConcurrentCalls: options.concurrency },
      clusters: stack.clusters.map((c) => ({
        name: c.name,
        server: c.server,
        caFile: c.caFile,
        token: c.token,
        namespace: c.namespace,
        qps: 0,
        ...options.clusterSettings,
      })),
      policy: { allowedImages: ['docker.io/library/*'] },
      http: { enabled: true, host: '127.0.0.1', port },
      log: { level: 'warn' },
    }),
  );
  const began = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...(options.inspect ? ['--inspect=127.0.0.1:0'] : []),
      join(repo, 'bin/podbus.js'),
      'run',
      '--config',
      configFile,
    ],
    {
      env: {
        ...process.env,
        NODE_OPTIONS: PODBUS_NODE_OPTIONS,
        PODBUS_SERVICE_BUS_CONNECTION_STRING: stack.connectionString,
      },
      stdio: ['ignore', 'inherit', 'pipe'],
    },
  );
  const inspectorUrl = forwardStderr(child, options.inspect === true);
  await waitReady(port, child);
  const readyMs = performance.now() - began;
  const inspector = options.inspect ? await Inspector.connect(await inspectorUrl) : undefined;
  return { child, readyMs, port, ...(inspector && { inspector }) };
}

/** Passes podbus's stderr through, minus the inspector's banner, whose address it returns. */
function forwardStderr(child: ChildProcess, inspecting: boolean): Promise<string> {
  return new Promise((resolve) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const url = /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
      if (url !== undefined) resolve(url);
      else if (!(inspecting && /^For help, see|^Debugger attached/.test(line)))
        process.stderr.write(`[podbus] ${line}\n`);
    });
  });
}

async function waitReady(port: number, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`podbus exited with ${child.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
