import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { stringify } from 'yaml';

import type { KubernetesEmulator, startKubernetesEmulator } from '@podbus/kubernetes-emulator';
import type { ServiceBusEmulator, startServiceBusEmulator } from '@podbus/servicebus-emulator';

import { startWorkerApp, type WorkerApp } from '../app/worker-app.js';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/load-config.js';
import type { Logger } from '../observability/logger.js';
import { LOCAL_ALLOWED_IMAGES } from './samples.js';

/** Where the local worker sends results (with duplicate detection, as a real one should). */
export const LOCAL_RESULTS_QUEUE = 'results';
/**
 * Short enough to watch: a result comes back as soon as a pod ends (a stuck one after
 * STUCK_AFTER_SECONDS), and its pod is deleted CLEANUP_AFTER_SECONDS after it ended.
 */
export const LOCAL_STUCK_AFTER_SECONDS = 8;
export const LOCAL_CLEANUP_AFTER_SECONDS = 8;

/**
 * The two emulator packages' entry points. The caller loads them (the CLI's lazy loads, which
 * say how to get the packages when the installation has none): this module only knows their
 * types, so the worker's code never depends on the emulators at run time.
 */
export interface LocalEmulators {
  readonly startServiceBusEmulator: typeof startServiceBusEmulator;
  readonly startKubernetesEmulator: typeof startKubernetesEmulator;
}

export interface LocalStackOptions {
  readonly emulators: LocalEmulators;
  /** Where the kubeconfig and the worker's config file are written. */
  readonly stateDir: string;
  readonly clusters: number;
  /** Port of the metrics/health server; 0 picks a free one. */
  readonly httpPort: number;
  readonly logger: Logger;
}

export interface LocalStack {
  readonly serviceBus: ServiceBusEmulator;
  readonly kubernetes: KubernetesEmulator;
  readonly worker: WorkerApp;
  readonly config: Config;
  readonly kubeconfigPath: string;
  readonly configPath: string;
  stop(): Promise<void>;
}

/**
 * Everything `podbus local` runs, in one process: the Service Bus emulator, simulated
 * clusters, and a worker configured exactly as a user would configure one (a real config
 * file, loaded by the real loader), so `podbus run --config <stateDir>/podbus.yaml` works too.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { startServiceBusEmulator, startKubernetesEmulator } = options.emulators;
  const stateDir = resolve(options.stateDir);
  await mkdir(stateDir, { recursive: true });
  const started: { stop(): Promise<void> }[] = [];
  try {
    const serviceBus = await startServiceBusEmulator({
      config: {
        UserConfig: {
          Namespaces: [
            {
              Name: 'sbemulatorns',
              Queues: [
                { Name: 'challenges', Properties: {} },
                {
                  Name: LOCAL_RESULTS_QUEUE,
                  Properties: {
                    RequiresDuplicateDetection: true,
                    DuplicateDetectionHistoryTimeWindow: 'PT10M',
                  },
                },
              ],
            },
          ],
        },
      },
    });
    started.push(serviceBus);
    const kubernetes = await startKubernetesEmulator({
      clusters: Array.from({ length: options.clusters }, (_, i) => ({
        name: `local-${i + 1}`,
        // Quick enough to watch in a terminal: Running after ~1 s, done a few seconds later.
        lifecycle: { scheduleMs: 300, startMs: 700, runMs: 4_000 },
      })),
    });
    started.push(kubernetes);

    const kubeconfigPath = join(stateDir, 'kubeconfig');
    await kubernetes.writeKubeconfig(kubeconfigPath);
    const configPath = join(stateDir, 'podbus.yaml');
    await writeFile(configPath, localConfigYaml(serviceBus, kubernetes, options.httpPort), {
      mode: 0o600,
    });
    const config = loadConfig({ file: configPath, env: {} });
    const worker = await startWorkerApp(config, { logger: options.logger });
    started.push(worker);

    return {
      serviceBus,
      kubernetes,
      worker,
      config,
      kubeconfigPath,
      configPath,
      stop: () => stopAll(started),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

/** Stops in reverse order of starting: the worker drains before the emulators go away. */
async function stopAll(parts: { stop(): Promise<void> }[]): Promise<void> {
  for (const part of [...parts].reverse()) await part.stop().catch(() => undefined);
}

function localConfigYaml(
  sb: ServiceBusEmulator,
  k8s: KubernetesEmulator,
  httpPort: number,
): string {
  const config = {
    serviceBus: {
      // The emulator's well-known development key, not a secret; a real deployment passes its
      // connection string as PODBUS_SERVICE_BUS_CONNECTION_STRING instead.
      connectionString: sb.connectionString,
      queueName: 'challenges',
      maxConcurrentCalls: 8,
    },
    clusters: k8s.clusters.map((c) => ({
      name: c.name,
      server: c.server,
      token: c.serviceAccountToken,
      caFile: c.caFile,
      namespace: c.namespace,
      maxActivePods: 20,
    })),
    selection: { strategy: 'least-loaded' },
    policy: { allowedImages: LOCAL_ALLOWED_IMAGES },
    results: { queueName: LOCAL_RESULTS_QUEUE, stuckAfterSeconds: LOCAL_STUCK_AFTER_SECONDS },
    cleanup: {
      ttlSecondsAfterFinished: LOCAL_CLEANUP_AFTER_SECONDS,
      stuckPendingSeconds: LOCAL_STUCK_AFTER_SECONDS,
      // One worker that is never killed mid-message: nothing comes back for a deleted pod.
      // Keep the default (10 minutes) wherever replicas can die.
      minimumAgeSeconds: 0,
    },
    worker: { shutdownGraceMs: 5_000 },
    http: { enabled: true, host: '127.0.0.1', port: httpPort },
  };
  return `# Written by podbus local: the worker configuration of the local demo.\n${stringify(config)}`;
}
