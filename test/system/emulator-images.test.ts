// The emulator packages' own image (packages/Dockerfile), as docker-compose.yml's offline
// profile runs them: read-only root filesystem, tmpfs /tmp, no capabilities. Fails, never skips,
// when Docker cannot be started or an image cannot be built.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { ServiceBusClient } from '@azure/service-bus';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';

import {
  IMAGE_SETUP_TIMEOUT_MS,
  IMAGE_USER,
  buildEmulatorImage,
  podbusContainer,
  prepareDocker,
  type EmulatorName,
  type PodbusImage,
} from './image-fixture.js';

/** A regression budget, not a target (docs/container.md has the measured sizes). */
const MAX_EMULATOR_IMAGE_BYTES = 300e6;

const images = new Map<EmulatorName, PodbusImage>();

beforeAll(async () => {
  prepareDocker();
  for (const name of ['servicebus-emulator', 'kubernetes-emulator'] as const) {
    images.set(name, await buildEmulatorImage(name));
  }
}, IMAGE_SETUP_TIMEOUT_MS);

/** `docker stop` sends the image's STOPSIGNAL (SIGTERM) to node, PID 1; returns the exit code. */
async function stopAndReadExitCode(started: StartedTestContainer): Promise<number | undefined> {
  const client = await getContainerRuntimeClient();
  const handle = client.container.getById(started.getId());
  await started.stop({ timeout: 20_000, remove: false });
  const exitCode = (await handle.inspect()).State.ExitCode;
  await handle.remove();
  return exitCode;
}

describe('emulator images: metadata', () => {
  it.each(['servicebus-emulator', 'kubernetes-emulator'] as const)(
    '%s: numeric non-root user, SIGTERM, size within budget',
    (name) => {
      const image = images.get(name)!;
      console.log(`podbus-${name} image size: ${(image.sizeBytes / 1e6).toFixed(1)} MB`);
      expect(image.sizeBytes).toBeLessThan(MAX_EMULATOR_IMAGE_BYTES);
      expect(image.config.User).toBe(IMAGE_USER);
      expect(image.config.StopSignal).toBe('SIGTERM');
      expect(image.config.Entrypoint).toEqual(['node', '--enable-source-maps', '/app/emulator.js']);
    },
  );
});

describe('podbus-servicebus-emulator image', () => {
  it('serves the Service Bus SDK over AMQP from a read-only container and exits 0 on SIGTERM', async () => {
    const started = await podbusContainer(images.get('servicebus-emulator')!.tag)
      .withCommand(['--port', '5672'])
      .withExposedPorts(5672)
      .withWaitStrategy(Wait.forLogMessage(/Stop with Ctrl-C/))
      .withStartupTimeout(30_000)
      .start();
    try {
      const client = new ServiceBusClient(
        `Endpoint=sb://localhost:${started.getMappedPort(5672)};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true`,
      );
      try {
        await client.createSender('challenges').sendMessages({ body: 'hello', messageId: 'img-1' });
        const receiver = client.createReceiver('challenges', { receiveMode: 'receiveAndDelete' });
        const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
        expect(message?.body).toBe('hello');
      } finally {
        await client.close();
      }
      expect(await stopAndReadExitCode(started)).toBe(0);
    } finally {
      await started.stop().catch(() => undefined);
    }
  }, 90_000);
});

describe('podbus-kubernetes-emulator image (docker-compose.yml, offline profile)', () => {
  it('serves kubectl over verified TLS from a read-only container and exits 0 on SIGTERM', async () => {
    // As in docker-compose.yml, it listens on a name of its own: that name is in the server URL
    // and on the certificate (which also always names 127.0.0.1, used from the host here). The
    // container's hostname stands in for the compose service name: a network alias would need a
    // second network, and a container on two networks publishes its port on either of them.
    const started = await podbusContainer(images.get('kubernetes-emulator')!.tag)
      .withHostname('kubernetes-emulator')
      .withCommand([
        '--host',
        'kubernetes-emulator',
        '--clusters',
        '1',
        '--write-kubeconfig',
        '/tmp/kubeconfig',
      ])
      .withExposedPorts(6443)
      .withWaitStrategy(Wait.forLogMessage(/Stop with Ctrl-C/))
      .withStartupTimeout(30_000)
      .start();
    const dir = mkdtempSync(path.join(tmpdir(), 'podbus-image-emulator-'));
    try {
      const read = await started.exec([
        'node',
        '-e',
        'process.stdout.write(require("fs").readFileSync("/tmp/kubeconfig", "utf8"))',
      ]);
      expect(read.exitCode).toBe(0);
      expect(read.output).toContain('server: https://kubernetes-emulator:6443');
      const kubeconfig = path.join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        read.output.replaceAll(
          'https://kubernetes-emulator:6443',
          `https://127.0.0.1:${started.getMappedPort(6443)}`,
        ),
        { mode: 0o600 },
      );
      const namespaces = execFileSync(
        'kubectl',
        ['--kubeconfig', kubeconfig, '--context', 'cluster-1', 'get', 'namespaces', '-o', 'name'],
        { encoding: 'utf8' },
      );
      expect(namespaces).toContain('namespace/challenges');

      expect(await stopAndReadExitCode(started)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await started.stop().catch(() => undefined);
    }
  }, 90_000);
});
