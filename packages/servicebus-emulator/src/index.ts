import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { Broker } from './broker.js';
import type { BrokerLogger, DeadLetterInfo, QueueInspection } from './broker.js';
import { CbsAuthority } from './cbs.js';
import { EntraTokenVerifier } from './entra.js';
import type { EntraAuthOptions } from './entra.js';
import { generateCertificates } from './certificates.js';
import { resolveConfig } from './config.js';
import type { EmulatorConfigFile } from './config.js';
import { ControlServer } from './control-server.js';
import { FaultState } from './faults.js';
import type { FaultControl, ServiceBusFaultConfig } from './faults.js';
import { DEFAULT_KEYS } from './sas.js';
import { AmqpServer } from './server.js';
import type { ConnectionInfo } from './server.js';

/**
 * A Service Bus stand-in that the unmodified @azure/service-bus SDK talks to over AMQP 1.0 with
 * an ordinary connection string (`UseDevelopmentEmulator=true`). See README.md.
 */
export interface ServiceBusEmulatorOptions {
  /** 0 = ephemeral. Default 0 here; the CLI defaults to 5672. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The official emulator's config.json (object or path). Default: one queue, `challenges`. */
  config?: EmulatorConfigFile | string;
  /** Directory for the append-only journal; undefined = in memory only. */
  dataDir?: string;
  /** Like the official emulator: accept any token on $cbs without checking it. */
  acceptAnyToken?: boolean;
  /** Shared access keys; default RootManageSharedAccessKey / SAS_KEY_VALUE. */
  keys?: { name: string; key: string }[];
  /**
   * Trust Microsoft Entra ID access tokens (`put-token` of type `jwt`) from these issuers, with
   * rights from these role assignments (README, "Microsoft Entra ID"). SAS keys keep working.
   */
  entra?: EntraAuthOptions;
  logger?: {
    info(...a: unknown[]): void;
    warn(...a: unknown[]): void;
    error(...a: unknown[]): void;
  };
  /** Payload bytes kept in memory before spilling to temporary files (default 4 MiB). */
  payloadMemoryBytes?: number;
  /**
   * After a burst, once quiet, run one memory-reducing GC so the process gives memory back.
   * Enables `--expose-gc` process-wide, so only for a dedicated emulator process (the CLI sets
   * it); default false.
   */
  reduceMemoryWhenIdle?: boolean;
  /** Seed of the fault generators, so a chaos run can be replayed (default 1). */
  faultSeed?: number;
  /** Faults in force from the start (README, "Fault injection"). */
  faults?: ServiceBusFaultConfig;
  /** Port of the HTTP control endpoint (0 = ephemeral); undefined = no endpoint (default). */
  controlPort?: number;
  /** Address of the control endpoint. Default 127.0.0.1: it has no authentication. */
  controlHost?: string;
  /** An AMQPS listener beside the plain one (README, "TLS"); off unless given. */
  tls?: TlsOptions;
}

export interface TlsOptions {
  /** 0 = ephemeral (the default here); the CLI's `--tls-port` defaults to 5671. */
  port?: number;
  /** Serve this certificate and key (PEM) instead of generating a CA and a certificate. */
  certPem?: string;
  keyPem?: string;
  /** Write the generated CA (PEM) to this file, for `NODE_EXTRA_CA_CERTS`. */
  caFile?: string;
}

export interface TlsListener {
  readonly port: number;
  /** Endpoint=sb://localhost:PORT;SharedAccessKeyName=...;SharedAccessKey=... (no emulator flag) */
  readonly connectionString: string;
  /** The generated CA clients must trust; undefined when a certificate was supplied. */
  readonly caPem: string | undefined;
  /** Where the generated CA was written, when `caFile` was given. */
  readonly caFile: string | undefined;
}

export interface ServiceBusEmulator {
  readonly port: number;
  /** Endpoint=sb://localhost:PORT;SharedAccessKeyName=...;SharedAccessKey=...;UseDevelopmentEmulator=true */
  readonly connectionString: string;
  readonly queueNames: readonly string[];
  stop(): Promise<void>;
  /** Message counts of a queue, read directly (not over AMQP), for tests and `podbus local`. */
  inspect(queue: string): QueueInspection;
  /** A queue's dead-lettered messages (id, reason, description), in sequence order. */
  deadLetters(queue: string, options?: { limit?: number }): DeadLetterInfo[];
  /** A queue's dead-lettered messages counted by `DeadLetterReason` (`(none)` when unset). */
  deadLetterReasons(queue: string): Record<string, number>;
  /** The open client connections (ids for `faults.dropConnections`). */
  connections(): ConnectionInfo[];
  /** Broker faults for chaos runs (README, "Fault injection"). */
  readonly faults: FaultControl;
  /** `http://HOST:PORT` of the control endpoint, when one was asked for. */
  readonly controlUrl: string | undefined;
  /** The AMQPS listener, when `tls` was given. */
  readonly tls: TlsListener | undefined;
}

export type { DeadLetterInfo, EmulatorConfigFile, QueueInspection };
export type { ConnectionInfo } from './server.js';
export type {
  ConnectionTarget,
  FaultControl,
  FaultCounts,
  LockSelector,
  LostLock,
  ServiceBusFaultConfig,
  ServiceBusFaultPatch,
  SettlementErrorCondition,
} from './faults.js';
export { FaultConfigError } from './faults.js';
export { ServiceBusEmulatorConfigError } from './config.js';
export type { EntraAuthOptions, EntraIssuerOptions, RoleAssignment } from './entra.js';
export { SERVICE_BUS_AUDIENCES } from './entra.js';
export { SERVICE_BUS_ROLES } from './rights.js';
export { JournalError } from './journal.js';

const silentLogger: BrokerLogger = { info() {}, warn() {}, error() {} };

export async function startServiceBusEmulator(
  options: ServiceBusEmulatorOptions = {},
): Promise<ServiceBusEmulator> {
  const logger = options.logger ?? silentLogger;
  const settings = resolveConfig(options.config);
  for (const warning of settings.warnings) logger.warn(`servicebus emulator config: ${warning}`);
  const keys = options.keys ?? DEFAULT_KEYS.map((k) => ({ ...k }));
  if (keys.length === 0) throw new Error('at least one shared access key is required');
  const key = keys[0] as { name: string; key: string };
  const broker = new Broker({
    settings,
    dataDir: options.dataDir,
    logger,
    payloadMemoryBytes: options.payloadMemoryBytes,
    reduceMemoryWhenIdle: options.reduceMemoryWhenIdle === true,
  });
  const host = options.host ?? '127.0.0.1';
  const faults = new FaultState(options.faultSeed ?? 1);
  const server = new AmqpServer({
    broker,
    cbs: new CbsAuthority({
      keys,
      acceptAnyToken: options.acceptAnyToken === true,
      ...(options.entra !== undefined && { entra: new EntraTokenVerifier(options.entra) }),
    }),
    logger,
    host,
    port: options.port ?? 0,
    faults,
  });
  faults.bind({
    dropConnections: (target, how, pick) => server.dropConnections(target, how, pick),
    loseLocks: (selector) => broker.loseLocks(selector),
  });
  let control: ControlServer | undefined;
  let port: number;
  let controlUrl: string | undefined;
  let tls: TlsListener | undefined;
  const inspection = {
    queueNames: Object.freeze([...broker.queueNames]),
    inspect: (queue: string) => broker.inspect(queue),
    deadLetters: (queue: string, o: { limit?: number } = {}) => broker.deadLetters(queue, o.limit),
    deadLetterReasons: (queue: string) => broker.deadLetterReasons(queue),
    connections: () => server.connectionInfo(),
  };
  try {
    if (options.faults) faults.replace(options.faults);
    port = await server.listen();
    if (options.tls) tls = await startTls(server, options.tls, host, key);
    if (options.controlPort !== undefined) {
      const controlHost = options.controlHost ?? '127.0.0.1';
      control = new ControlServer({ ...inspection, faults });
      const controlPort = await control.listen(options.controlPort, controlHost);
      controlUrl = `http://${controlHost.includes(':') ? `[${controlHost}]` : controlHost}:${controlPort}`;
    }
  } catch (error) {
    faults.dispose();
    await server.close().catch(() => undefined);
    broker.close();
    throw error;
  }
  const connectionString =
    `Endpoint=sb://${connectionHost(host)}:${port};SharedAccessKeyName=${key.name};` +
    `SharedAccessKey=${key.key};UseDevelopmentEmulator=true`;
  let stopping: Promise<void> | undefined;
  return {
    ...inspection,
    port,
    connectionString,
    faults,
    controlUrl,
    tls,
    stop: () =>
      (stopping ??= (async () => {
        faults.dispose();
        try {
          await control?.close();
          await server.close();
        } finally {
          broker.close();
        }
      })()),
  };
}

async function startTls(
  server: AmqpServer,
  options: TlsOptions,
  host: string,
  key: { name: string; key: string },
): Promise<TlsListener> {
  if ((options.certPem === undefined) !== (options.keyPem === undefined)) {
    throw new Error('tls: certPem and keyPem go together');
  }
  const generated =
    options.certPem === undefined ? generateCertificates([connectionHost(host), host]) : undefined;
  const cert = options.certPem ?? (generated?.certPem as string);
  const privateKey = options.keyPem ?? (generated?.keyPem as string);
  let caFile: string | undefined;
  if (generated && options.caFile !== undefined) {
    caFile = resolve(options.caFile);
    mkdirSync(dirname(caFile), { recursive: true });
    writeFileSync(caFile, generated.caPem);
  }
  const port = await server.listenTls(options.port ?? 0, { cert, key: privateKey });
  return {
    port,
    caPem: generated?.caPem,
    caFile,
    connectionString:
      `Endpoint=sb://${connectionHost(host)}:${port};SharedAccessKeyName=${key.name};` +
      `SharedAccessKey=${key.key}`,
  };
}

/** The host to put in the connection string: `localhost` unless bound to one other address. */
function connectionHost(host: string): string {
  const h = host.trim();
  if (h === '' || h === '0.0.0.0' || h === '::' || h === '127.0.0.1' || h === '::1')
    return 'localhost';
  return h.includes(':') ? `[${h}]` : h;
}
