import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServiceBusEmulator } from '../../src/index.js';

/**
 * What the conformance suite runs against. Every test talks to it only through the public
 * @azure/service-bus API and a connection string, so the same tests hold our emulator and the
 * official one to the same behaviour.
 *
 * - default: podbus's emulator, in process, started with config.json (this directory);
 * - PODBUS_CONFORMANCE_TARGET=official: the official emulator via @testcontainers/azureservicebus
 *   (image PODBUS_SERVICEBUS_EMULATOR_IMAGE, default mcr.microsoft.com/azure-messaging/
 *   servicebus-emulator:latest) started with the same config.json;
 * - PODBUS_CONFORMANCE_CONNECTION_STRING=...: an already running target holding the queues of
 *   config.json (e.g. an official emulator started by hand); PODBUS_CONFORMANCE_AUTH=verified if
 *   it checks SAS signatures (the cloud service does; the official emulator does not).
 */
export interface ConformanceTarget {
  readonly name: 'podbus' | 'official' | 'external';
  readonly connectionString: string;
  /** Whether the target verifies SAS tokens (the official emulator ignores authentication). */
  readonly authentication: 'verified' | 'ignored';
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
export const CONFIG_PATH = join(here, 'config.json');

/** Starting the official emulator (SQL Server + emulator containers) takes minutes. */
export const TARGET_START_TIMEOUT_MS =
  process.env.PODBUS_CONFORMANCE_TARGET === 'official' ? 600_000 : 30_000;

export async function startTarget(): Promise<ConformanceTarget> {
  const external = process.env.PODBUS_CONFORMANCE_CONNECTION_STRING;
  if (external) {
    return {
      name: 'external',
      connectionString: external,
      authentication: process.env.PODBUS_CONFORMANCE_AUTH === 'verified' ? 'verified' : 'ignored',
      stop: async () => undefined,
    };
  }
  if (process.env.PODBUS_CONFORMANCE_TARGET === 'official') return startOfficial();
  const emulator = await startServiceBusEmulator({ config: CONFIG_PATH });
  return {
    name: 'podbus',
    connectionString: emulator.connectionString,
    authentication: 'verified',
    stop: () => emulator.stop(),
  };
}

async function startOfficial(): Promise<ConformanceTarget> {
  const { AzureServiceBusContainer } = await import('@testcontainers/azureservicebus');
  const image =
    process.env.PODBUS_SERVICEBUS_EMULATOR_IMAGE ??
    'mcr.microsoft.com/azure-messaging/servicebus-emulator:latest';
  const container = await new AzureServiceBusContainer(image)
    .acceptLicense()
    .withConfig(readFileSync(CONFIG_PATH, 'utf8'))
    .start();
  return {
    name: 'official',
    connectionString: container.getConnectionString(),
    authentication: 'ignored',
    stop: async () => {
      await container.stop();
    },
  };
}
