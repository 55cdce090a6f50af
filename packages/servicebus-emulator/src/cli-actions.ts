import { format } from 'node:util';

import { JournalError, ServiceBusEmulatorConfigError, startServiceBusEmulator } from './index.js';
import type { ServiceBusEmulator } from './index.js';
import { CliUsageError, onStopSignals } from './cli-support.js';

/** Raw flag values as commander hands them over. */
export interface ServiceBusEmulatorFlags {
  port?: string;
  host?: string;
  config?: string;
  dataDir?: string;
  acceptAnyToken?: boolean;
  controlPort?: string;
  controlHost?: string;
  faultSeed?: string;
}

export interface ResolvedServiceBusEmulatorFlags {
  port: number;
  host: string;
  config: string | undefined;
  dataDir: string | undefined;
  acceptAnyToken: boolean;
  controlPort: number | undefined;
  controlHost: string;
  faultSeed: number;
}

/** Validates the flags; every problem names its flag (exit code 2). */
export function resolveServiceBusEmulatorFlags(
  flags: ServiceBusEmulatorFlags,
): ResolvedServiceBusEmulatorFlags {
  const port = portNumber('--port', flags.port ?? '5672');
  const host = hostName('--host', flags.host ?? '0.0.0.0');
  const controlHost = hostName('--control-host', flags.controlHost ?? '127.0.0.1');
  if (flags.controlHost !== undefined && flags.controlPort === undefined) {
    throw new CliUsageError('--control-host needs --control-port');
  }
  const seedText = flags.faultSeed ?? '1';
  if (!/^\d+$/.test(seedText.trim()) || Number(seedText) > 0xffffffff) {
    throw new CliUsageError(
      `--fault-seed must be an integer between 0 and 4294967295, got "${seedText}"`,
    );
  }
  if (flags.config !== undefined && flags.config.trim() === '') {
    throw new CliUsageError('--config needs the path of a config.json');
  }
  if (flags.dataDir !== undefined && flags.dataDir.trim() === '') {
    throw new CliUsageError('--data-dir needs a directory');
  }
  return {
    port,
    host,
    config: flags.config,
    dataDir: flags.dataDir,
    acceptAnyToken: flags.acceptAnyToken === true,
    controlPort:
      flags.controlPort === undefined ? undefined : portNumber('--control-port', flags.controlPort),
    controlHost,
    faultSeed: Number(seedText),
  };
}

function portNumber(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > 65535) {
    throw new CliUsageError(`${flag} must be an integer between 0 and 65535, got "${text}"`);
  }
  return Number(text);
}

function hostName(flag: string, host: string): string {
  if (host.trim() === '' || /\s/.test(host)) {
    throw new CliUsageError(`${flag} must be a host name or IP address, got "${host}"`);
  }
  return host;
}

export interface RunServiceBusEmulatorOptions {
  /** Standard output: the connection string, alone on the first line. */
  out?: (text: string) => void;
  /** Diagnostics (queues, warnings, shutdown). */
  err?: (text: string) => void;
  /** Resolves when the emulator should stop. @defaultValue the first SIGINT/SIGTERM */
  until?: Promise<unknown>;
  /** Called once the emulator listens (tests use it to reach the instance). */
  onStarted?: (emulator: ServiceBusEmulator) => void;
}

/** Starts the emulator, prints its connection string, runs until stopped. */
export async function runServiceBusEmulator(
  flags: ServiceBusEmulatorFlags,
  options: RunServiceBusEmulatorOptions = {},
): Promise<void> {
  const resolved = resolveServiceBusEmulatorFlags(flags);
  const out = options.out ?? ((t: string) => void process.stdout.write(t));
  const err = options.err ?? ((t: string) => void process.stderr.write(t));
  const log =
    (level: string) =>
    (...args: unknown[]) =>
      err(`${level} ${format(...args)}\n`);
  const signals = options.until ? undefined : onStopSignals();
  try {
    let emulator: ServiceBusEmulator;
    try {
      emulator = await startServiceBusEmulator({
        port: resolved.port,
        host: resolved.host,
        config: resolved.config,
        dataDir: resolved.dataDir,
        acceptAnyToken: resolved.acceptAnyToken,
        controlPort: resolved.controlPort,
        controlHost: resolved.controlHost,
        faultSeed: resolved.faultSeed,
        reduceMemoryWhenIdle: true, // this process is the emulator's own
        logger: { info: log('info'), warn: log('warn'), error: log('error') },
      });
    } catch (e) {
      throw usageErrorFor(e, resolved);
    }
    try {
      out(`${emulator.connectionString}\n`);
      err(
        `podbus Service Bus emulator listening on ${resolved.host}:${emulator.port}\n` +
          `queues: ${emulator.queueNames.join(', ') || '(none)'}\n` +
          `storage: ${resolved.dataDir ? `journal in ${resolved.dataDir}` : 'in memory'}\n` +
          `authentication: ${resolved.acceptAnyToken ? 'any token accepted' : 'SAS tokens verified'}\n` +
          (emulator.controlUrl
            ? `control: ${emulator.controlUrl} (fault seed ${resolved.faultSeed})\n`
            : '') +
          'Stop with Ctrl-C (SIGINT) or SIGTERM.\n',
      );
      options.onStarted?.(emulator);
      await (options.until ?? signals?.stopped);
    } finally {
      await emulator.stop();
    }
  } finally {
    signals?.dispose();
  }
}

function usageErrorFor(e: unknown, flags: ResolvedServiceBusEmulatorFlags): unknown {
  if (e instanceof ServiceBusEmulatorConfigError) return new CliUsageError(`--config ${e.message}`);
  if (e instanceof JournalError) return new CliUsageError(`--data-dir: ${e.message}`);
  const err = e as NodeJS.ErrnoException & { port?: number };
  if (err?.code === 'EADDRINUSE' || err?.code === 'EACCES' || err?.code === 'EADDRNOTAVAIL') {
    const isControl =
      flags.controlPort !== undefined && err.port === flags.controlPort && err.port !== flags.port;
    return new CliUsageError(
      isControl
        ? `cannot listen on ${flags.controlHost}:${flags.controlPort} (--control-host/--control-port): ${err.message}`
        : `cannot listen on ${flags.host}:${flags.port} (--host/--port): ${err.message}`,
    );
  }
  if (flags.dataDir && typeof err?.code === 'string' && typeof err.path === 'string') {
    return new CliUsageError(`--data-dir ${flags.dataDir}: ${err.message}`);
  }
  return e;
}
