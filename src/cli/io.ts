import { AsyncLocalStorage } from 'node:async_hooks';
import { createInterface } from 'node:readline/promises';

import type { Command } from 'commander';

/**
 * Where the operator commands (enqueue, dlq, clusters) read and write. By default the process's
 * own streams and environment; tests run `main([...argv])` in-process inside `withCliIo` to
 * capture the output, feed stdin, pretend to be (or not be) a terminal and pass an environment,
 * without touching the real process state.
 */
export interface OutputStream {
  write(text: string): unknown;
  /** A terminal: tables are truncated to its width, progress redraws one line. */
  readonly isTTY?: boolean;
  /** Terminal width in characters, when known. */
  readonly columns?: number;
}

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Asks a yes/no question (only called when stdin is a terminal). */
  confirm(question: string): Promise<boolean>;
}

const storage = new AsyncLocalStorage<CliIo>();

const processIo: CliIo = {
  get stdout() {
    return process.stdout;
  },
  get stderr() {
    return process.stderr;
  },
  get stdin() {
    return process.stdin;
  },
  get env() {
    return process.env;
  },
  confirm: async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question(`${question} [y/N] `);
      return /^\s*y(es)?\s*$/i.test(answer);
    } finally {
      rl.close();
    }
  },
};

/** The IO of the command running now. */
export function cliIo(): CliIo {
  return storage.getStore() ?? processIo;
}

/** Runs `fn` (typically `main(argv)`) with `io` as the commands' IO. */
export function withCliIo<T>(io: CliIo, fn: () => Promise<T>): Promise<T> {
  return storage.run(io, fn);
}

/** Writes a line (a newline is added) to stdout / stderr of the current IO. */
export function out(text: string): void {
  cliIo().stdout.write(`${text}\n`);
}

export function err(text: string): void {
  cliIo().stderr.write(`${text}\n`);
}

/**
 * commander writes help and its own errors through the command's output configuration;
 * pointing it at the current IO keeps `--help` and usage errors capturable in tests.
 * Call it right after creating a command, before adding subcommands (they inherit it).
 */
export function routeCommanderOutput(command: Command): Command {
  return command.configureOutput({
    writeOut: (text) => void cliIo().stdout.write(text),
    writeErr: (text) => void cliIo().stderr.write(text),
    getOutHelpWidth: () => cliIo().stdout.columns ?? 80,
    getErrHelpWidth: () => cliIo().stderr.columns ?? 80,
    getOutHasColors: () => false,
    getErrHasColors: () => false,
  });
}
