// The container image, built from the Dockerfile against the locally built base image
// (scripts/build-base-image.sh) and run the way deploy/worker runs it. Fails, never skips, when
// Docker cannot be started or the image cannot be built.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';

import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { stringify } from 'yaml';

import {
  startKubernetesEmulator,
  type EmulatedCluster,
  type KubernetesEmulator,
} from '@podbus/kubernetes-emulator';
import { startServiceBusEmulator, type ServiceBusEmulator } from '@podbus/servicebus-emulator';
import { podNameForMessageId } from '../../src/message/names.js';

import {
  IMAGE_SETUP_TIMEOUT_MS,
  IMAGE_USER,
  buildPodbusImage,
  podbusContainer,
  prepareDocker,
  repoRoot,
  runToCompletion,
  type PodbusImage,
} from './image-fixture.js';

/** A regression budget, not a target: see docs/container.md for the measured size. */
const MAX_IMAGE_BYTES = 400e6;

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

let image: PodbusImage;

beforeAll(async () => {
  prepareDocker();
  image = await buildPodbusImage();
}, IMAGE_SETUP_TIMEOUT_MS);

describe('podbus image: metadata', () => {
  it('reports its size and stays within the budget', () => {
    console.log(`podbus image size: ${(image.sizeBytes / 1e6).toFixed(1)} MB`);
    expect(image.sizeBytes).toBeLessThan(MAX_IMAGE_BYTES);
  });

  it('runs as a numeric non-root user that runAsNonRoot can verify', () => {
    expect(image.config.User).toBe(IMAGE_USER);
    const [uid, gid] = image.config.User.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
  });

  it('starts the worker by default, stops on SIGTERM, exposes the metrics port', () => {
    expect(image.config.Entrypoint).toEqual(['node', '--enable-source-maps', '/app/bin/podbus.js']);
    expect(image.config.Cmd).toEqual(['run']);
    expect(image.config.StopSignal).toBe('SIGTERM');
    expect(Object.keys(image.config.ExposedPorts ?? {})).toEqual(['9090/tcp']);
    expect(image.config.Env).toContain('NODE_ENV=production');
  });

  it('carries the OCI labels', () => {
    const labels = image.config.Labels ?? {};
    expect(labels['org.opencontainers.image.title']).toBe('podbus');
    expect(labels['org.opencontainers.image.version']).toBe(pkg.version);
    expect(labels['org.opencontainers.image.revision']).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(labels['org.opencontainers.image.licenses']).toBe('MIT');
    const created = labels['org.opencontainers.image.created'] ?? '';
    expect(created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Number.isNaN(Date.parse(created))).toBe(false);
  });
});

describe('podbus image: runs hardened (read-only root, tmpfs /tmp, no capabilities)', () => {
  it('runs `podbus --help`', async () => {
    const run = await runToCompletion(podbusContainer().withCommand(['--help']));
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('Usage: podbus');
  });

  it('runs as uid 10001 and can write only to /tmp', async () => {
    const probe = `
      const fs = require('node:fs');
      const tryWrite = (file) => {
        try { fs.writeFileSync(file, 'x'); return 'ok'; } catch (e) { return e.code; }
      };
      console.log(JSON.stringify({
        uid: process.getuid(), gid: process.getgid(), home: require('node:os').homedir(),
        app: tryWrite('/app/probe'), root: tryWrite('/probe'), tmp: tryWrite('/tmp/probe'),
      }));`;
    const run = await runToCompletion(
      podbusContainer().withEntrypoint(['node']).withCommand(['-e', probe]),
    );
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      uid: 10001,
      gid: 10001,
      home: '/tmp',
      app: 'EROFS',
      root: 'EROFS',
      tmp: 'ok',
    });
  });

  it('cannot change its own code even when the root filesystem is writable', async () => {
    const probe = `
      const fs = require('node:fs');
      try { fs.appendFileSync('/app/dist/main.js', '//'); console.log('ok'); }
      catch (e) { console.log(e.code); }`;
    const run = await runToCompletion(
      podbusContainer()
        .withReadOnlyRootFilesystem(false)
        .withEntrypoint(['node'])
        .withCommand(['-e', probe]),
    );
    expect(run.stdout.trim()).toBe('EACCES');
  });

  it('ships compiled JavaScript and production dependencies only', async () => {
    const probe = `
      const fs = require('node:fs');
      const has = (p) => fs.existsSync(p);
      console.log(JSON.stringify({
        main: has('/app/dist/main.js'), bin: has('/app/bin/podbus.js'),
        schema: has('/app/schema'), pkg: has('/app/package.json'),
        src: has('/app/src'), test: has('/app/test'),
        typescript: has('/app/node_modules/typescript'), jest: has('/app/node_modules/jest'),
        testcontainers: has('/app/node_modules/testcontainers'),
        clientNode: has('/app/node_modules/@kubernetes/client-node'),
        serviceBus: has('/app/node_modules/@azure/service-bus'),
        emulatorPackages: has('/app/packages') || has('/app/node_modules/@podbus'),
        emulatorCode: fs.readdirSync('/app/dist', { recursive: true }).some((f) => /emulator/.test(f) && !/emulator-(command|packages)/.test(f)),
        x509: has('/app/node_modules/@peculiar/x509'),
      }));`;
    const run = await runToCompletion(
      podbusContainer().withEntrypoint(['node']).withCommand(['-e', probe]),
    );
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      main: true,
      bin: true,
      schema: true,
      pkg: true,
      src: false,
      test: false,
      typescript: false,
      jest: false,
      testcontainers: false,
      clientNode: true,
      serviceBus: true,
      emulatorPackages: false,
      emulatorCode: false,
      x509: false,
    });
  });
});

describe('podbus image: what the build prunes', () => {
  // The Dockerfile deletes type declarations, source maps and browser-only builds from
  // node_modules. Each production dependency must still load, under the "import" condition the
  // worker's own ESM uses, and a credential of @azure/identity (whose browser build pulled in
  // the pruned @azure/msal-browser) must still be constructible.
  it('keeps every production dependency importable', async () => {
    const probe = `
      import { readFileSync } from 'node:fs';
      const { dependencies } = JSON.parse(readFileSync('/app/package.json', 'utf8'));
      const failed = [];
      for (const name of Object.keys(dependencies)) {
        await import(name).catch((error) => failed.push(name + ': ' + error.message));
      }
      const { DefaultAzureCredential } = await import('@azure/identity');
      new DefaultAzureCredential();
      console.log(JSON.stringify({ loaded: Object.keys(dependencies).length, failed }));`;
    const run = await runToCompletion(
      podbusContainer()
        .withEntrypoint(['node'])
        .withWorkingDir('/app')
        .withCommand(['--input-type=module', '-e', probe]),
    );
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.stdout) as { loaded: number; failed: string[] };
    expect(report.failed).toEqual([]);
    expect(report.loaded).toBe(Object.keys(pkg.dependencies).length);
  });
});

describe('podbus image: ships without the emulators', () => {
  it.each([
    [['emulator', 'servicebus'], '@podbus/servicebus-emulator'],
    [['emulator', 'kubernetes', '--clusters', '1'], '@podbus/kubernetes-emulator'],
    [['local'], '@podbus/servicebus-emulator'],
  ])('`podbus %j` says how to get %s (exit 1)', async (args, pkg) => {
    const run = await runToCompletion(podbusContainer().withCommand(args));
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`needs the ${pkg} package, which this installation does not have`);
    expect(run.stderr).toContain(`npx ${pkg}`);
    expect(run.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
  });
});

// The worker in the image against podbus's emulators, which run in this process and listen on
// the Docker bridge's gateway address (the host as seen from a container). That address is on
// the Kubernetes emulator's certificate, so the worker verifies TLS as it would against AKS.
describe('podbus image: the worker (`podbus run`) against the emulators', () => {
  const QUEUE = 'challenges';
  let serviceBus: ServiceBusEmulator;
  let kubernetes: KubernetesEmulator;
  let cluster: EmulatedCluster;
  let configDir: string;

  beforeAll(async () => {
    const gateway = dockerBridgeGateway();
    serviceBus = await startServiceBusEmulator({ host: gateway });
    kubernetes = await startKubernetesEmulator({
      host: gateway,
      clusters: [{ name: 'cluster-1' }],
    });
    cluster = kubernetes.cluster('cluster-1');
    configDir = writeWorkerConfig(cluster);
  });

  afterAll(async () => {
    await serviceBus?.stop();
    await kubernetes?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  /** The worker's output so far (for failure messages). */
  let workerLog: string[] = [];

  /** The worker container, configured like deploy/worker (read-only, non-root), ready. */
  async function startWorker(): Promise<StartedTestContainer> {
    workerLog = [];
    return podbusContainer()
      .withLogConsumer((stream) => stream.on('data', (chunk) => workerLog.push(String(chunk))))
      .withBindMounts([{ source: configDir, target: '/etc/podbus', mode: 'ro' }])
      .withEnvironment({ PODBUS_SERVICE_BUS_CONNECTION_STRING: serviceBus.connectionString })
      .withCommand(['run', '--config', '/etc/podbus/podbus.yaml'])
      .withExposedPorts(9090)
      .withWaitStrategy(Wait.forHttp('/readyz', 9090).forStatusCode(200))
      .withStartupTimeout(45_000)
      .start();
  }

  async function send(messageId: string, challengeId: string): Promise<void> {
    const client = new ServiceBusClient(serviceBus.connectionString);
    try {
      const sender = client.createSender(QUEUE);
      await sender.sendMessages({
        messageId,
        contentType: 'application/json',
        body: { challengeId, containers: [{ image: 'docker.io/library/nginx:1.27' }] },
      });
      await sender.close();
    } finally {
      await client.close();
    }
  }

  async function waitFor<T>(
    what: string,
    probe: () => T | undefined,
    timeoutMs = 20_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; worker log:\n${workerLog.join('').slice(-3000)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function waitForAsync(
    what: string,
    probe: () => Promise<boolean>,
    timeoutMs = 20_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; worker log:\n${workerLog.join('').slice(-3000)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('creates a pod for a challenge message, from the hardened container', async () => {
    const worker = await startWorker();
    try {
      await send('image-test-created', 'image-test');
      const pod = await waitFor('the pod', () =>
        cluster.getPod('challenges', podNameForMessageId('image-test-created')),
      );
      expect(pod.metadata.labels).toMatchObject({ challengeId: 'image-test' });
      await waitFor('the message to be completed', () => {
        const q = serviceBus.inspect(QUEUE);
        return q.active + q.locked === 0 ? q : undefined;
      });
      expect(serviceBus.inspect(QUEUE).deadLettered).toBe(0);
      const metrics = await (
        await fetch(`http://${worker.getHost()}:${worker.getMappedPort(9090)}/metrics`)
      ).text();
      expect(metrics).toContain('podbus_messages_received_total');
    } finally {
      await worker.stop({ timeout: 45_000 });
    }
  }, 90_000);

  it('on SIGTERM mid-message: exits 0 within the grace, loses nothing; a new worker finishes it', async () => {
    const first = await startWorker();
    const client = await getContainerRuntimeClient();
    const handle = client.container.getById(first.getId());
    const podName = podNameForMessageId('image-test-drained');
    try {
      // Slow the cluster down so the message is still being handled when SIGTERM arrives.
      await cluster.faults.set({ latencyMs: 3000 });
      await send('image-test-drained', 'image-test');
      // In flight means in the worker's handler (podbus_messages_in_flight), not merely locked.
      const metricsUrl = `http://${first.getHost()}:${first.getMappedPort(9090)}/metrics`;
      await waitForAsync('the message to be in flight in the worker', async () =>
        /^podbus_messages_in_flight 1$/m.test(await (await fetch(metricsUrl)).text()),
      );
      const stopping = Date.now();
      await first.stop({ timeout: 45_000, remove: false });
      const stopMs = Date.now() - stopping;
      const state = (await handle.inspect()).State;
      console.log(`worker stopped on SIGTERM with a message in flight in ${stopMs} ms`);
      expect(state.ExitCode).toBe(0);
      expect(stopMs).toBeLessThan(30_000); // worker.shutdownGraceMs is 20 s here

      // The drain either finished the message (pod created, message completed) or handed it
      // back (an in-flight duplicate lookup is interrupted; the message is available again).
      // Never lost, never dead-lettered, never left locked.
      const queue = serviceBus.inspect(QUEUE);
      const pod = cluster.getPod('challenges', podName) !== undefined;
      const drained = {
        pod,
        active: queue.active,
        locked: queue.locked,
        deadLettered: queue.deadLettered,
      };
      expect([
        { pod: true, active: 0, locked: 0, deadLettered: 0 },
        { pod: false, active: 1, locked: 0, deadLettered: 0 },
      ]).toContainEqual(drained);
    } finally {
      await cluster.faults.clear();
      await handle.remove({ force: true }).catch(() => undefined);
    }

    // A new replica picks up whatever was handed back: exactly one pod, the queue empty.
    const second = await startWorker();
    try {
      await waitFor('the pod', () => cluster.getPod('challenges', podName));
      await waitFor('the queue to be empty', () => {
        const q = serviceBus.inspect(QUEUE);
        return q.active + q.locked === 0 ? q : undefined;
      });
      expect(
        cluster.listPods('challenges').filter((p) => p.metadata.name === podName),
      ).toHaveLength(1);
      expect(serviceBus.inspect(QUEUE).deadLettered).toBe(0);
    } finally {
      await second.stop({ timeout: 45_000 });
    }
  }, 120_000);
});

/**
 * The host's address on Docker's default bridge, which containers on it reach the host by:
 * docker0's IPv4 address (Docker 20.10 leaves the bridge network's IPAM gateway empty), else the
 * bridge network's gateway, else the first address of its subnet.
 */
function dockerBridgeGateway(): string {
  const docker0 = networkInterfaces().docker0?.find((a) => a.family === 'IPv4');
  if (docker0 !== undefined) return docker0.address;
  const ipam = JSON.parse(
    execFileSync('docker', ['network', 'inspect', 'bridge', '--format', '{{json .IPAM.Config}}'], {
      encoding: 'utf8',
    }),
  ) as { Gateway?: string; Subnet?: string }[];
  const config = ipam.find((c) => c.Subnet?.includes('.'));
  if (config?.Gateway) return config.Gateway;
  const [network] = (config?.Subnet ?? '').split('/');
  const octets = (network ?? '').split('.').map(Number);
  if (octets.length !== 4) throw new Error('cannot tell the Docker bridge gateway address');
  octets[3] = (octets[3] ?? 0) + 1;
  return octets.join('.');
}

/**
 * podbus.yaml + clusters.yaml + the podbus service account's token and the cluster CA, in a
 * directory the container mounts read-only at /etc/podbus (readable by uid 10001).
 */
function writeWorkerConfig(target: EmulatedCluster): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'podbus-image-worker-'));
  chmodSync(dir, 0o755);
  const files: Record<string, string> = {
    'podbus.yaml': stringify({
      serviceBus: { queueName: 'challenges', maxConcurrentCalls: 4 },
      clustersFile: '/etc/podbus/clusters.yaml',
      policy: { allowedImages: ['docker.io/library/*'] },
      selection: { strategy: 'round-robin' },
      worker: { shutdownGraceMs: 20_000 },
      http: { port: 9090 },
      log: { level: 'info' },
    }),
    'clusters.yaml': stringify([
      {
        name: target.name,
        server: target.server,
        tokenFile: '/etc/podbus/token',
        caFile: '/etc/podbus/ca.crt',
        namespace: target.namespace,
      },
    ]),
    token: target.serviceAccountToken,
    'ca.crt': target.caPem,
  };
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), content, { mode: 0o644 });
  }
  return dir;
}
