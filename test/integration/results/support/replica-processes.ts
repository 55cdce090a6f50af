import { spawn, type ChildProcess } from 'node:child_process';

import { PODBUS_FROM_SOURCE } from '../../../support/podbus-from-source.js';

const repo = new URL('../../../../', import.meta.url).pathname;

/**
 * `podbus run` replicas as separate processes, started from the TypeScript sources (as the
 * local-command and run-signals tests do) and killed with SIGKILL: a replica dies mid-work,
 * as a pod evicted or OOM-killed would, without releasing its lease or finishing what it had
 * in flight. Each process's JSON log lines are kept for the test to read.
 */
export class ReplicaProcesses {
  private readonly children: (ChildProcess | undefined)[];
  /** Every log line of every process started for replica i, in order. */
  readonly logs: string[][];
  readonly starts: number[];
  /** Where each replica's latest start begins in its log. */
  private readonly offsets: number[];

  constructor(
    private readonly count: number,
    private readonly configFile: string,
    private readonly env: Readonly<Record<string, string>>,
  ) {
    this.children = Array.from({ length: count }, () => undefined);
    this.logs = Array.from({ length: count }, () => []);
    this.starts = Array.from({ length: count }, () => 0);
    this.offsets = Array.from({ length: count }, () => 0);
  }

  startAll(): void {
    for (let i = 0; i < this.count; i += 1) this.start(i);
  }

  start(index: number): void {
    if (this.children[index] !== undefined) return;
    this.starts[index]! += 1;
    this.offsets[index] = this.logs[index]!.length;
    const child = spawn(
      process.execPath,
      [...PODBUS_FROM_SOURCE, 'run', '--config', this.configFile],
      { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env } },
    );
    let partial = '';
    const take = (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      this.logs[index]!.push(...lines.filter((l) => l !== ''));
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.once('exit', () => {
      if (this.children[index] === child) this.children[index] = undefined;
    });
    this.children[index] = child;
  }

  /** kill -9, and wait for the process to be gone. */
  async kill(index: number): Promise<void> {
    const child = this.children[index];
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.children[index] = undefined;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.children.map((_, i) => this.kill(i)));
  }

  /** The log lines of replica `index` (all its starts, or from `from` on), parsed. */
  entries(index: number, from = 0): Record<string, unknown>[] {
    return this.logs[index]!.slice(from).flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Log lines of every replica with `msg`. */
  all(msg: string): Record<string, unknown>[] {
    return this.logs.flatMap((_, i) => this.entries(i).filter((e) => e.msg === msg));
  }

  /** The log lines of replica `index`'s latest start, parsed. */
  current(index: number): Record<string, unknown>[] {
    return this.entries(index, this.offsets[index]);
  }

  /** True once replica `index`'s latest start logged that it takes messages. */
  receiving(index: number): boolean {
    return this.current(index).some((e) => e.msg === 'receiving messages');
  }

  /**
   * The replica that leads `cluster` now, from the log: the last "leading" or "no longer
   * leading" line of each replica's latest start.
   */
  leaderOf(cluster: string): number | undefined {
    for (let i = 0; i < this.count; i += 1) {
      if (this.children[i] === undefined) continue;
      const changes = this.current(i).filter(
        (e) =>
          e.cluster === cluster &&
          typeof e.msg === 'string' &&
          e.msg.includes('leading the cluster'),
      );
      const last = changes.at(-1);
      if (last !== undefined && String(last.msg).startsWith('leading')) return i;
    }
    return undefined;
  }
}
