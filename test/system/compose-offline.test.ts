// docker-compose.yml's `offline` profile, end to end, with the images built from this checkout:
// the Kubernetes and Service Bus emulator packages' images, two `podbus clusters add` one-shots and the
// worker come up; a challenge message becomes a pod, a message with an image outside the
// allowlist is dead-lettered, and `stop` ends the worker with exit code 0. Needs Docker and a
// compose CLI (scripts/ensure-docker.sh installs Debian's docker-compose); fails, never skips.
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  IMAGE_SETUP_TIMEOUT_MS,
  buildEmulatorImage,
  buildPodbusImage,
  findComposeCli,
  prepareDocker,
  repoRoot,
} from './image-fixture.js';

const project = `podbus-compose-test-${process.pid}`;
let compose: string[];
let env: NodeJS.ProcessEnv;
let amqpPort: number;
let metricsPort: number;
let up = false;

function composeRun(...args: string[]): string {
  const [command, ...prefix] = compose;
  const result = spawnSync(
    command ?? 'false',
    [...prefix, '-p', project, '--profile', 'offline', ...args],
    {
      cwd: repoRoot,
      env,
      encoding: 'utf8',
      timeout: 180_000,
    },
  );
  if (result.status !== 0) {
    throw new Error(`compose ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
}

async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}; worker log:\n${composeRun('logs', '--no-color', '--tail', '30', 'worker-offline')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  prepareDocker();
  const cli = findComposeCli();
  if (cli === undefined) {
    throw new Error(
      'no compose CLI (docker compose or docker-compose); scripts/ensure-docker.sh installs one',
    );
  }
  compose = cli;
  const image = await buildPodbusImage();
  const serviceBusEmulator = await buildEmulatorImage('servicebus-emulator');
  const kubernetesEmulator = await buildEmulatorImage('kubernetes-emulator');
  amqpPort = await freePort();
  metricsPort = await freePort();
  env = {
    ...process.env,
    PODBUS_IMAGE: image.tag,
    PODBUS_SERVICEBUS_EMULATOR_IMAGE: serviceBusEmulator.tag,
    PODBUS_KUBERNETES_EMULATOR_IMAGE: kubernetesEmulator.tag,
    PODBUS_AMQP_PORT: String(amqpPort),
    PODBUS_METRICS_PORT: String(metricsPort),
  };
  up = true;
  composeRun('up', '-d', '--no-build', 'worker-offline');
  await waitFor('the worker to be ready', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    return response.status === 200;
  });
}, IMAGE_SETUP_TIMEOUT_MS);

afterAll(() => {
  if (up) composeRun('down', '-v', '--remove-orphans');
}, 120_000);

describe('docker compose --profile offline up worker-offline', () => {
  it('onboarded both simulated clusters with `podbus clusters add`', () => {
    for (const service of ['clusters-add-1', 'clusters-add-2']) {
      const id = composeRun('ps', '-a', '-q', service).trim();
      const state = JSON.parse(
        execFileSync('docker', ['inspect', '--format', '{{json .State}}', id], {
          encoding: 'utf8',
        }),
      ) as { Status: string; ExitCode: number };
      expect(`${service}: ${state.Status} ${state.ExitCode}`).toBe(`${service}: exited 0`);
    }
  });

  it('turns a challenge message into a pod and dead-letters a disallowed image', async () => {
    const client = new ServiceBusClient(
      `Endpoint=sb://localhost:${amqpPort};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`,
    );
    try {
      const sender = client.createSender('challenges');
      await sender.sendMessages([
        // The seed's PascalCase form and the camelCase form.
        {
          messageId: 'compose-ok',
          body: { ChallengeId: 'compose', Containers: [{ Name: 'nginx:1.27' }] },
        },
        {
          messageId: 'compose-denied',
          body: { challengeId: 'compose', containers: [{ image: 'quay.io/x/miner' }] },
        },
      ]);
      await sender.close();
    } finally {
      await client.close();
    }
    await waitFor('both messages to be settled', async () => {
      const text = await metrics();
      return (
        text.includes('podbus_messages_settled_total{outcome="created"} 1') &&
        text.includes('podbus_messages_dead_lettered_total{reason="PolicyViolation"} 1')
      );
    });
    const log = composeRun('logs', '--no-color', 'worker-offline');
    expect(log).toMatch(/"messageId":"compose-ok".*"outcome":"created"/);
  }, 90_000);

  it('stops the worker cleanly (SIGTERM, exit code 0)', () => {
    composeRun('stop', 'worker-offline');
    const id = composeRun('ps', '-a', '-q', 'worker-offline').trim();
    const exitCode = execFileSync('docker', ['inspect', '--format', '{{.State.ExitCode}}', id], {
      encoding: 'utf8',
    }).trim();
    expect(exitCode).toBe('0');
  }, 90_000);
});
