import { spawn } from 'node:child_process';

/** What a credential plugin run ended with. */
export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /**
   * Set when the command could not be started (`ENOENT`, ...), ran past its time (`ETIMEDOUT`),
   * printed more than the plugin output cap (`ENOBUFS`) or was ended by a signal (`ESIGNAL`).
   */
  readonly error?: NodeJS.ErrnoException;
}

export type RunCommand = (
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
) => Promise<ExecResult>;

/** An ExecCredential is a few KiB; anything near this is not one. */
export const MAX_PLUGIN_OUTPUT_BYTES = 1024 * 1024;

/** Between SIGTERM to the plugin's process group and SIGKILL. */
const KILL_GRACE_MS = 2_000;

/**
 * Runs a credential plugin with a hard bound on how long podbus waits for it. execFile's
 * `timeout` only sends SIGTERM and then waits for the exit, so a plugin that ignores SIGTERM
 * (or leaves a grandchild holding its stdout) would hold every API call of its cluster. Here
 * the plugin gets its own process group, the answer comes at the deadline whatever the child
 * does, and the group gets SIGTERM, then SIGKILL.
 */
export const runCommand: RunCommand = (command, args, env, timeoutMs) =>
  new Promise((resolve) => {
    let settled = false;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outputBytes = 0;
    const child = spawn(command, [...args], {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const finish = (code: number | null, error?: NodeJS.ErrnoException): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        ...(error !== undefined && { error }),
      });
    };
    const endGroup = (): void => {
      signalGroup(child.pid, 'SIGTERM');
      setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      outputBytes += chunk.length;
      if (outputBytes > MAX_PLUGIN_OUTPUT_BYTES) {
        endGroup();
        finish(null, failure('ENOBUFS', `printed more than ${MAX_PLUGIN_OUTPUT_BYTES} bytes`));
        return;
      }
      into.push(chunk);
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));
    const deadline = setTimeout(() => {
      endGroup();
      finish(null, failure('ETIMEDOUT', `ran longer than ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => finish(null, error));
    // 'close' (not 'exit'): the output is complete only once both pipes have ended.
    child.on('close', (code, signal) =>
      signal !== null
        ? finish(null, failure('ESIGNAL', `ended by ${signal}`))
        : finish(code ?? null),
    );
  });

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function failure(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}
