import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';

import { PODBUS_FROM_SOURCE } from '../../support/podbus-from-source.js';

const repo = new URL('../../../', import.meta.url).pathname;

/**
 * How a replica is started: `podbus run` from the TypeScript sources (no build needed, as the
 * integration tests run it), or from the compiled dist/ (`bin/podbus.js`).
 */
export function podbusCommand(fromDist: boolean): string[] {
  if (fromDist) return [process.execPath, join(repo, 'bin/podbus.js')];
  return [process.execPath, ...PODBUS_FROM_SOURCE];
}

/** The pod annotation naming the replica process that created the pod. */
export const CREATED_BY = 'soak.test/created-by';

/** `<replica>.<start>`: replica 2 after its first restart is `2.2`, its log replica-2.2.log. */
function processName(index: number, start: number): string {
  return `${index + 1}.${start}`;
}

export interface ReplicaSetOptions {
  readonly count: number;
  /** The podbus command (podbusCommand), to which `run --config <file>` is added. */
  readonly command: readonly string[];
  readonly configFile: string;
  readonly env: Readonly<Record<string, string>>;
  /** Each process's stdout and stderr go to `<logDir>/replica-<i>.<start>.log`. */
  readonly logDir: string;
  /** How long a SIGTERM'd replica may take before it is killed (its stop budget and some). */
  readonly stopTimeoutMs: number;
}

interface Replica {
  process: ChildProcess | undefined;
  starts: number;
  /** The signal the harness sent, so an exit it did not cause is told apart. */
  signalled: NodeJS.Signals | undefined;
  /** SIGKILLed because a SIGTERM did not stop it in time. */
  stopTimedOut: boolean;
  /** Resolves when this process logs that it takes messages. */
  receiving: Promise<void> | undefined;
  exited: Promise<void> | undefined;
}

/** An exit the harness did not cause: a podbus crash. */
export interface UnexpectedExit {
  readonly replica: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly log: string;
}

/**
 * The worker replicas, each a separate `podbus run` process sharing one config, as a
 * Deployment's pods would: killed (SIGKILL), stopped (SIGTERM) and restarted by the chaos.
 */
export class ReplicaSet {
  private readonly replicas: Replica[];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** SIGTERM'd replicas that did not exit 0 within their stop budget (then SIGKILLed). */
  readonly uncleanStops: UnexpectedExit[] = [];

  constructor(private readonly options: ReplicaSetOptions) {
    this.replicas = Array.from({ length: options.count }, () => ({
      process: undefined,
      starts: 0,
      signalled: undefined,
      stopTimedOut: false,
      receiving: undefined,
      exited: undefined,
    }));
  }

  get count(): number {
    return this.replicas.length;
  }

  isRunning(index: number): boolean {
    return this.replica(index).process !== undefined;
  }

  runningCount(): number {
    return this.replicas.filter((r) => r.process !== undefined).length;
  }

  startAll(): void {
    for (let i = 0; i < this.count; i += 1) this.start(i);
  }

  /** Starts replica `index` unless it is running. */
  start(index: number): void {
    const replica = this.replica(index);
    if (replica.process !== undefined) return;
    replica.starts += 1;
    replica.signalled = undefined;
    replica.stopTimedOut = false;
    const log = join(this.options.logDir, `replica-${processName(index, replica.starts)}.log`);
    const out = createWriteStream(log);
    const [node, ...args] = this.options.command;
    const child = spawn(node!, [...args, 'run', '--config', this.options.configFile], {
      env: {
        ...process.env,
        ...this.options.env,
        // Every pod says which process created it (operator annotations are not part of the
        // request hash), so a duplicate can be traced to the logs of its creators.
        PODBUS_POD_ANNOTATIONS: JSON.stringify({
          [CREATED_BY]: processName(index, replica.starts),
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    replica.process = child;
    replica.receiving = new Promise((resolve, reject) => {
      child.once('close', () =>
        reject(new Error(`replica ${processName(index, replica.starts)} exited; see ${log}`)),
      );
      // Watches the log without consuming it (the pipe to the file goes on as before).
      let tail = '';
      const watch = (chunk: Buffer) => {
        tail = (tail + chunk.toString('utf8')).slice(-4096);
        if (!tail.includes('"msg":"receiving messages"')) return;
        child.stdout.off('data', watch);
        resolve();
      };
      child.stdout.on('data', watch);
    });
    // Only the first start is waited for (allReceiving); a later exit is an unexpected exit.
    replica.receiving.catch(() => undefined);
    replica.exited = new Promise((resolve) => {
      // 'close', not 'exit': the last log lines may still be in the pipe when the process exits.
      child.once('close', (code, signal) => {
        const exit = { replica: index + 1, code, signal, log };
        if (replica.signalled === undefined) this.unexpectedExits.push(exit);
        else if (replica.signalled === 'SIGTERM' && code !== 0) this.uncleanStops.push(exit);
        else if (replica.stopTimedOut) this.uncleanStops.push(exit);
        replica.process = undefined;
        out.end(resolve);
      });
    });
  }

  /** Resolves when every replica takes messages (podbus logs "receiving messages"). */
  async allReceiving(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the replicas did not start within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(this.replicas.map((r) => r.receiving)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9: the process dies mid-work, its locks lapse on the broker. */
  async kill(index: number): Promise<void> {
    const replica = this.replica(index);
    if (!replica.process) return;
    replica.signalled = 'SIGKILL';
    replica.process.kill('SIGKILL');
    await replica.exited;
  }

  /** SIGTERM, as Kubernetes stops a pod; SIGKILL when it outlasts its stop budget. */
  async terminate(index: number): Promise<void> {
    const replica = this.replica(index);
    const child = replica.process;
    if (!child) return;
    replica.signalled = 'SIGTERM';
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      replica.stopTimedOut = true;
      replica.signalled = 'SIGKILL';
      child.kill('SIGKILL');
    }, this.options.stopTimeoutMs);
    await replica.exited;
    clearTimeout(timer);
  }

  async terminateAll(): Promise<void> {
    await Promise.all(this.replicas.map((_, i) => this.terminate(i)));
  }

  /** Processes started so far, restarts included. */
  get starts(): number {
    return this.replicas.reduce((sum, r) => sum + r.starts, 0);
  }

  private replica(index: number): Replica {
    const replica = this.replicas[index];
    if (!replica) throw new Error(`no replica ${index}`);
    return replica;
  }
}
