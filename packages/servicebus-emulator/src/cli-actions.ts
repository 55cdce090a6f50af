import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';

import { JournalError, ServiceBusEmulatorConfigError, startServiceBusEmulator } from './index.js';
import type { ServiceBusEmulator } from './index.js';
import { CliUsageError, onStopSignals } from './cli-support.js';
import type { EntraAuthOptions } from './entra.js';
import { resolveEntraFlags, type EntraFlags } from './entra-flags.js';

/** Raw flag values as commander hands them over. */
export interface ServiceBusEmulatorFlags extends EntraFlags {
  port?: string;
  host?: string;
  config?: string;
  dataDir?: string;
  acceptAnyToken?: boolean;
  controlPort?: string;
  controlHost?: string;
  faultSeed?: string;
  tls?: boolean;
  tlsPort?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCaFile?: string;
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
  /** Entra ID trust (--entra-config, --entra-issuer ...), when asked for. */
  entra: EntraAuthOptions | undefined;
  /** The AMQPS listener, when asked for. */
  tls: { port: number; certFile?: string; keyFile?: string; caFile: string } | undefined;
}

/** Where the generated CA goes unless --tls-ca-file says otherwise. */
export const DEFAULT_CA_FILE = join(tmpdir(), 'podbus-servicebus-emulator', 'ca.pem');

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
    tls: resolveTlsFlags(flags),
    entra: resolveEntraFlags(flags),
  };
}

function resolveTlsFlags(flags: ServiceBusEmulatorFlags): ResolvedServiceBusEmulatorFlags['tls'] {
  const wanted =
    flags.tls === true ||
    flags.tlsPort !== undefined ||
    flags.tlsCert !== undefined ||
    flags.tlsKey !== undefined;
  if (!wanted) {
    if (flags.tlsCaFile !== undefined) throw new CliUsageError('--tls-ca-file needs --tls');
    return undefined;
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new CliUsageError('--tls-cert and --tls-key go together');
  }
  if (flags.tlsCert !== undefined && flags.tlsCaFile !== undefined) {
    throw new CliUsageError('--tls-ca-file is for the generated CA; not with --tls-cert');
  }
  return {
    port: portNumber('--tls-port', flags.tlsPort ?? '5671'),
    certFile: flags.tlsCert,
    keyFile: flags.tlsKey,
    caFile: flags.tlsCaFile ?? DEFAULT_CA_FILE,
  };
}

/** Reads a PEM file named by a flag; a problem names the flag. */
function readPem(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliUsageError(`${flag} ${file}: ${(error as Error).message}`);
  }
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
        ...(resolved.entra !== undefined && { entra: resolved.entra }),
        controlPort: resolved.controlPort,
        controlHost: resolved.controlHost,
        faultSeed: resolved.faultSeed,
        tls: resolved.tls && {
          port: resolved.tls.port,
          certPem: resolved.tls.certFile && readPem('--tls-cert', resolved.tls.certFile),
          keyPem: resolved.tls.keyFile && readPem('--tls-key', resolved.tls.keyFile),
          caFile: resolved.tls.certFile ? undefined : resolved.tls.caFile,
        },
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
          `authentication: ${authentication(resolved)}\n` +
          (emulator.tls
            ? `amqps: port ${emulator.tls.port}` +
              (emulator.tls.caFile
                ? `, CA in ${emulator.tls.caFile} (NODE_EXTRA_CA_CERTS=${emulator.tls.caFile})`
                : ', with the given certificate') +
              `\n  ${emulator.tls.connectionString}\n`
            : '') +
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
  if (e instanceof CliUsageError) return e;
  if (flags.tls?.certFile && err?.code?.startsWith('ERR_OSSL')) {
    return new CliUsageError(`--tls-cert/--tls-key: ${err.message}`);
  }
  if (err?.code === 'EADDRINUSE' || err?.code === 'EACCES' || err?.code === 'EADDRNOTAVAIL') {
    const other = (port: number | undefined): boolean =>
      port !== undefined && err.port === port && err.port !== flags.port;
    const where = other(flags.controlPort)
      ? `${flags.controlHost}:${flags.controlPort} (--control-host/--control-port)`
      : other(flags.tls?.port)
        ? `${flags.host}:${flags.tls?.port} (--host/--tls-port)`
        : `${flags.host}:${flags.port} (--host/--port)`;
    return new CliUsageError(`cannot listen on ${where}: ${err.message}`);
  }
  if (flags.dataDir && typeof err?.code === 'string' && typeof err.path === 'string') {
    return new CliUsageError(`--data-dir ${flags.dataDir}: ${err.message}`);
  }
  return e;
}

function authentication(flags: ResolvedServiceBusEmulatorFlags): string {
  if (flags.acceptAnyToken) return 'any token accepted';
  if (flags.entra === undefined) return 'SAS tokens verified';
  const issuers = flags.entra.issuers.map((i) => i.issuer).join(', ');
  return `SAS tokens verified; Entra ID tokens from ${issuers} (${flags.entra.roleAssignments?.length ?? 0} role assignments)`;
}
