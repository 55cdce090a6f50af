import { Readable } from 'node:stream';

import { withCliIo, type CliIo } from '../../../../src/cli/io.js';
import { main } from '../../../../src/main.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCliOptions {
  /** The whole environment the command sees (process.env is not inherited). */
  readonly env?: NodeJS.ProcessEnv;
  /** What stdin holds. */
  readonly stdin?: string;
  /** stdin, stdout and stderr are terminals. */
  readonly tty?: boolean;
  readonly columns?: number;
  /** Answers to confirmation questions (recorded in `questions`). */
  readonly confirm?: boolean;
  readonly questions?: string[];
  /** Sees stdout as it is written (a long-running command, e.g. a watch, observed while it runs). */
  readonly onStdout?: (text: string) => void;
}

/**
 * Runs `podbus <args>` in-process, as bin/podbus.js does, with captured output. The exit code
 * is main()'s return value; process.exitCode is reset before and after so one command's code
 * cannot leak into the next (or into jest's own exit code).
 */
export async function runCli(
  args: readonly string[],
  options: RunCliOptions = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const tty = options.tty === true;
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]);
  Object.assign(stdin, { isTTY: tty });
  const io: CliIo = {
    stdout: {
      write: (t: string) => {
        stdout += t;
        options.onStdout?.(t);
      },
      isTTY: tty,
      columns: options.columns ?? 100,
    },
    stderr: { write: (t: string) => (stderr += t), isTTY: tty, columns: options.columns ?? 100 },
    stdin,
    env: options.env ?? {},
    confirm: async (question) => {
      options.questions?.push(question);
      return options.confirm === true;
    },
  };
  // main() itself prints usage errors to process.stderr; capture those too.
  const realStdout = process.stdout.write;
  const realStderr = process.stderr.write;
  process.stdout.write = ((t: string | Uint8Array) => {
    stdout += String(t);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((t: string | Uint8Array) => {
    stderr += String(t);
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    const code = await withCliIo(io, () => main(['node', 'podbus', ...args]));
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = realStdout;
    process.stderr.write = realStderr;
    process.exitCode = undefined;
  }
}
