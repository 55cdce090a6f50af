import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

export interface CliProcess {
  child: ChildProcess;
  /** Everything written to stdout / stderr so far. */
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** The first stdout line (the connection string), once printed. */
  firstLine: Promise<string>;
}

/**
 * Starts `servicebus-emulator <args>` as a child process from the TypeScript sources (Node 24 strips the
 * types; ts-hooks.mjs maps the `.js` import specifiers to the `.ts` files).
 */
export function startCli(args: string[]): CliProcess {
  const child = spawn(
    process.execPath,
    [
      '--experimental-transform-types',
      '--disable-warning=ExperimentalWarning',
      '--import',
      join(here, 'ts-hooks.mjs'),
      join(here, 'emulator-cli.mjs'),
      ...args,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    void exited.then((code) =>
      reject(new Error(`servicebus-emulator exited (${code}) before printing: ${err}`)),
    );
  });
  firstLine.catch(() => undefined);
  return { child, stdout: () => out, stderr: () => err, exited, firstLine };
}
