import { Broker } from './broker.js';
import type { BrokerLogger, QueueInspection } from './broker.js';
import { CbsAuthority } from './cbs.js';
import { resolveConfig } from './config.js';
import type { EmulatorConfigFile } from './config.js';
import { DEFAULT_KEYS } from './sas.js';
import { AmqpServer } from './server.js';

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
}

export interface ServiceBusEmulator {
  readonly port: number;
  /** Endpoint=sb://localhost:PORT;SharedAccessKeyName=...;SharedAccessKey=...;UseDevelopmentEmulator=true */
  readonly connectionString: string;
  readonly queueNames: readonly string[];
  stop(): Promise<void>;
  /** Message counts of a queue, read directly (not over AMQP), for tests and `podbus local`. */
  inspect(queue: string): QueueInspection;
}

export type { EmulatorConfigFile, QueueInspection };
export { ServiceBusEmulatorConfigError } from './config.js';
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
  const server = new AmqpServer({
    broker,
    cbs: new CbsAuthority({ keys, acceptAnyToken: options.acceptAnyToken === true }),
    logger,
    host,
    port: options.port ?? 0,
  });
  let port: number;
  try {
    port = await server.listen();
  } catch (error) {
    broker.close();
    throw error;
  }
  const connectionString =
    `Endpoint=sb://${connectionHost(host)}:${port};SharedAccessKeyName=${key.name};` +
    `SharedAccessKey=${key.key};UseDevelopmentEmulator=true`;
  const queueNames = Object.freeze([...broker.queueNames]);
  let stopping: Promise<void> | undefined;
  return {
    port,
    connectionString,
    queueNames,
    inspect: (queue) => broker.inspect(queue),
    stop: () =>
      (stopping ??= (async () => {
        try {
          await server.close();
        } finally {
          broker.close();
        }
      })()),
  };
}

/** The host to put in the connection string: `localhost` unless bound to one other address. */
function connectionHost(host: string): string {
  const h = host.trim();
  if (h === '' || h === '0.0.0.0' || h === '::' || h === '127.0.0.1' || h === '::1')
    return 'localhost';
  return h.includes(':') ? `[${h}]` : h;
}
