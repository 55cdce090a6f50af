import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import type { CoreV1Api } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';

import { loadConfig } from '../../../src/config/load-config.js';
import type { Config } from '../../../src/config/config.js';
import {
  startKubernetesEmulator,
  type ClusterSpec,
  type KubernetesEmulator,
  type PodObject,
} from '@podbus/kubernetes-emulator';
import { startServiceBusEmulator, type ServiceBusEmulator } from '@podbus/servicebus-emulator';
import { createLogger } from '../../../src/observability/logger.js';
import { startWorkerApp, type WorkerApp } from '../../../src/app/worker-app.js';
import { plainCoreApi } from '../../support/plain-core-api.js';

export const QUEUE = 'challenges';
export const ALLOWED_IMAGES = ['registry.example/challenges/*', 'docker.io/library/busybox'];

export interface StackOptions {
  clusters?: (ClusterSpec & { maxActivePods?: number; weight?: number })[];
  /** Overrides merged into the podbus config file (deep merge of plain objects). */
  config?: Record<string, unknown>;
  lockDuration?: string;
  maxDeliveryCount?: number;
  /** Shared access keys of the Service Bus emulator (default: the well-known dev key). */
  sasKeys?: { name: string; key: string }[];
  /** More queues beside the challenges queue (results queues), with emulator properties. */
  queues?: { name: string; properties?: Record<string, unknown> }[];
}

/**
 * Both emulators, a podbus config file pointing at them, and helpers to send, observe and
 * start workers: every test drives the real SDK, the real client-node and the real config
 * loader. Log lines of every worker are kept for the secret scan.
 */
export class Stack {
  readonly logLines: string[] = [];
  private readonly workers: WorkerApp[] = [];
  private client: ServiceBusClient | undefined;

  private constructor(
    readonly sb: ServiceBusEmulator,
    readonly k8s: KubernetesEmulator,
    readonly dir: string,
    readonly configFile: string,
  ) {}

  static async start(options: StackOptions = {}): Promise<Stack> {
    const specs = options.clusters ?? [{ name: 'alpha' }, { name: 'beta' }];
    const sb = await startServiceBusEmulator({
      ...(options.sasKeys && { keys: options.sasKeys }),
      config: {
        UserConfig: {
          Namespaces: [
            {
              Name: 'sbemulatorns',
              Queues: [
                {
                  Name: QUEUE,
                  Properties: {
                    LockDuration: options.lockDuration ?? 'PT5S',
                    MaxDeliveryCount: options.maxDeliveryCount ?? 10,
                  },
                },
                ...(options.queues ?? []).map((q) => ({
                  Name: q.name,
                  Properties: q.properties ?? {},
                })),
              ],
            },
          ],
        },
      },
    });
    const k8s = await startKubernetesEmulator({
      clusters: specs.map(({ maxActivePods: _m, weight: _w, ...spec }) => ({
        lifecycle: { scheduleMs: 20, startMs: 50, runMs: 600_000 },
        ...spec,
      })),
      seed: 7,
    });
    const dir = await mkdtemp(join(tmpdir(), 'podbus-worker-it-'));
    const configFile = join(dir, 'podbus.yaml');
    const base: Record<string, unknown> = {
      serviceBus: { queueName: QUEUE, maxConcurrentCalls: 4 },
      clusters: specs.map((spec) => {
        const cluster = k8s.cluster(spec.name);
        return {
          name: spec.name,
          server: cluster.server,
          token: cluster.serviceAccountToken,
          caFile: cluster.caFile,
          namespace: cluster.namespace,
          weight: spec.weight ?? 1,
          maxActivePods: spec.maxActivePods ?? 0,
        };
      }),
      selection: { strategy: 'round-robin' },
      policy: { allowedImages: ALLOWED_IMAGES },
      worker: {
        shutdownGraceMs: 5_000,
        transientRetryBudgetMs: 60_000,
        retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
        clusterRequestTimeoutMs: 2_000,
      },
      http: { enabled: false },
      log: { level: 'debug' },
    };
    await writeFile(configFile, stringify(deepMerge(base, options.config ?? {})));
    return new Stack(sb, k8s, dir, configFile);
  }

  /** Edits the podbus config file (before a worker starts). */
  async rewriteConfig(edit: (config: Record<string, unknown>) => void): Promise<void> {
    const config = parse(await readFile(this.configFile, 'utf8')) as Record<string, unknown>;
    edit(config);
    await writeFile(this.configFile, stringify(config));
  }

  config(overrides: Record<string, string | number | boolean> = {}): Config {
    return loadConfig({
      file: this.configFile,
      env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: this.sb.connectionString },
      overrides,
    });
  }

  async startWorker(overrides: Record<string, string | number | boolean> = {}): Promise<WorkerApp> {
    const logger = createLogger({
      level: 'debug',
      pretty: false,
      destination: { write: (line: string) => this.logLines.push(line) },
    });
    const app = await startWorkerApp(this.config(overrides), { logger, defaultMetrics: false });
    this.workers.push(app);
    return app;
  }

  get serviceBus(): ServiceBusClient {
    this.client ??= new ServiceBusClient(this.sb.connectionString);
    return this.client;
  }

  async send(
    ...messages: {
      body: unknown;
      messageId?: string;
      replyTo?: string;
      applicationProperties?: Record<string, string>;
    }[]
  ): Promise<void> {
    const sender = this.serviceBus.createSender(QUEUE);
    try {
      await sender.sendMessages(messages.map((m) => ({ ...m })));
    } finally {
      await sender.close();
    }
  }

  /** The core API of a cluster as its admin (the test's "other party"), over real HTTPS. */
  adminApi(cluster: string): CoreV1Api {
    const c = this.k8s.cluster(cluster);
    return plainCoreApi({ server: c.server, caPem: c.caPem, token: c.adminToken });
  }

  /** Pods of every cluster, as `cluster/name`. */
  pods(): { cluster: string; pod: PodObject }[] {
    return this.k8s.clusters.flatMap((c) =>
      c.listPods(c.namespace).map((pod) => ({ cluster: c.name, pod })),
    );
  }

  podNames(): string[] {
    return this.pods()
      .map((p) => `${p.cluster}/${p.pod.metadata.name}`)
      .sort();
  }

  async deadLetters(max = 50): Promise<ServiceBusReceivedMessage[]> {
    const receiver = this.serviceBus.createReceiver(QUEUE, {
      subQueueType: 'deadLetter',
      receiveMode: 'receiveAndDelete',
    });
    try {
      const all: ServiceBusReceivedMessage[] = [];
      for (;;) {
        const batch = await receiver.receiveMessages(max, { maxWaitTimeInMs: 500 });
        all.push(...batch);
        if (batch.length === 0) return all;
      }
    } finally {
      await receiver.close();
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.stop()));
    await this.client?.close();
    await Promise.allSettled([this.sb.stop(), this.k8s.stop()]);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Polls until `check` returns a value other than undefined/false, or fails with `what`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One annotation of a pod as the emulator stores it. */
export function annotation(pod: PodObject, key: string): string | undefined {
  return (pod.metadata.annotations as Record<string, string> | undefined)?.[key];
}

export function challenge(challengeId: string, ...images: string[]) {
  return { challengeId, containers: images.map((image) => ({ image })) };
}

function deepMerge(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const existing = out[key];
    out[key] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
