import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** One emulated cluster as podbus's config and the bench's consumers need it. */
export interface BenchCluster {
  readonly name: string;
  readonly server: string;
  readonly caFile: string;
  readonly caPem: string;
  /** The `podbus` service account's token (pods in `namespace` only). */
  readonly token: string;
  readonly namespace: string;
}

export interface StackOptions {
  /** Emulated clusters (the Kubernetes emulator serves them all). */
  readonly clusters: number;
  /** Injected latency of every Kubernetes API request (the emulator's `latencyMs` fault). */
  readonly latencyMs: number;
}

/** Both emulators, each in a process of its own; `pids` for their CPU. */
export interface Stack {
  readonly connectionString: string;
  readonly clusters: readonly BenchCluster[];
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const [serviceBus, kubernetes] = await Promise.all([
    startChild<{ connectionString: string }>('servicebus-process.ts', []),
    startChild<BenchCluster[]>('kubernetes-process.ts', [JSON.stringify(options)]),
  ]);
  return {
    connectionString: serviceBus.ready.connectionString,
    clusters: kubernetes.ready,
    pids: [serviceBus.child.pid!, kubernetes.child.pid!],
    stop: async () => {
      await Promise.all([stopChild(serviceBus.child), stopChild(kubernetes.child)]);
    },
  };
}

async function startChild<T>(
  file: string,
  args: string[],
): Promise<{ child: ChildProcess; ready: T }> {
  const child = fork(join(here, file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) =>
      reject(new Error(`${file} exited with ${code} before it was ready`)),
    );
  });
  return { child, ready };
}

/** Asks a child to stop and waits for it to exit. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
