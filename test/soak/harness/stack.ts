import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { startKubernetesEmulator, type KubernetesEmulator } from '@podbus/kubernetes-emulator';
import { startServiceBusEmulator, type ServiceBusEmulator } from '@podbus/servicebus-emulator';
import { stringify } from 'yaml';

import { SOAK_ALLOWED_IMAGES } from './message-plan.js';

export const QUEUE = 'challenges';

/**
 * The broker and podbus settings the soak runs with. They are the README's advice for senders
 * that may send a message twice, the shipped defaults elsewhere, and shorter times where the
 * defaults would only make the run slow (printed with every report, see describeSettings).
 */
export interface SoakSettings {
  /** The queue drops a resend of a message ID within the window (the README's advice). */
  readonly duplicateDetection: boolean;
  readonly duplicateWindow: string;
  /** Azure's default, 10 (the official emulator's config schema defaults to 3). */
  readonly maxDeliveryCount: number;
  /** Short, so the redelivery of a message whose holder died comes quickly. */
  readonly lockDuration: string;
  readonly strategy: 'least-loaded' | 'round-robin' | 'weighted' | 'hash';
  readonly maxConcurrentCalls: number;
  readonly maxActivePods: number;
  readonly clusterRequestTimeoutMs: number;
  readonly retryMaxDelayMs: number;
}

export const DEFAULT_SETTINGS: SoakSettings = {
  duplicateDetection: true,
  duplicateWindow: 'PT10M',
  maxDeliveryCount: 10,
  lockDuration: 'PT10S',
  strategy: 'least-loaded',
  maxConcurrentCalls: 8,
  maxActivePods: 40,
  clusterRequestTimeoutMs: 3_000,
  retryMaxDelayMs: 5_000,
};

/** Simulated pods run for about a second, so capacity frees up during the run. */
const LIFECYCLE = { scheduleMs: 50, startMs: 100, runMs: 1_000 };

export interface SoakStack {
  readonly serviceBus: ServiceBusEmulator;
  readonly kubernetes: KubernetesEmulator;
  /** The podbus config file every replica runs with. */
  readonly configFile: string;
  stop(): Promise<void>;
}

export async function startStack(options: {
  clusters: number;
  seed: number;
  settings: SoakSettings;
  dir: string;
}): Promise<SoakStack> {
  const { settings } = options;
  const serviceBus = await startServiceBusEmulator({
    // The broker's injected-fault decisions replay with the run's seed too.
    faultSeed: options.seed,
    config: {
      UserConfig: {
        Namespaces: [
          {
            Name: 'sbemulatorns',
            Queues: [
              {
                Name: QUEUE,
                Properties: {
                  LockDuration: settings.lockDuration,
                  MaxDeliveryCount: settings.maxDeliveryCount,
                  RequiresDuplicateDetection: settings.duplicateDetection,
                  DuplicateDetectionHistoryTimeWindow: settings.duplicateWindow,
                  // Long enough that nothing expires during a run: an expired message would
                  // be the broker's loss, not podbus's.
                  DefaultMessageTimeToLive: 'P1D',
                },
              },
            ],
          },
        ],
      },
    },
  });
  const kubernetes = await startKubernetesEmulator({
    clusters: Array.from({ length: options.clusters }, (_, i) => ({
      name: `soak-${i + 1}`,
      lifecycle: LIFECYCLE,
    })),
    // The clusters' injected-fault decisions replay with the run's seed.
    seed: options.seed,
  });
  const configFile = join(options.dir, 'podbus.yaml');
  await writeFile(configFile, stringify(podbusConfig(kubernetes, settings)), { mode: 0o600 });
  return {
    serviceBus,
    kubernetes,
    configFile,
    stop: async () => {
      await Promise.allSettled([serviceBus.stop(), kubernetes.stop()]);
    },
  };
}

/** podbus's config: the shipped defaults except where SoakSettings say otherwise. */
function podbusConfig(kubernetes: KubernetesEmulator, settings: SoakSettings) {
  return {
    serviceBus: { queueName: QUEUE, maxConcurrentCalls: settings.maxConcurrentCalls },
    clusters: kubernetes.clusters.map((c) => ({
      name: c.name,
      server: c.server,
      token: c.serviceAccountToken,
      caFile: c.caFile,
      namespace: c.namespace,
      maxActivePods: settings.maxActivePods,
    })),
    selection: { strategy: settings.strategy },
    policy: { allowedImages: SOAK_ALLOWED_IMAGES },
    worker: {
      clusterRequestTimeoutMs: settings.clusterRequestTimeoutMs,
      retry: { maxDelayMs: settings.retryMaxDelayMs },
    },
    http: { enabled: false },
    log: { level: 'info' },
  };
}

/** The settings in a few lines, for the report: what was run, and why. */
export function describeSettings(settings: SoakSettings): string[] {
  const detection = settings.duplicateDetection
    ? `duplicate detection on (window ${settings.duplicateWindow}), as the README advises for ` +
      'senders that may send a message twice: podbus alone cannot stop two copies of one ' +
      'sent message that are handled at the same moment'
    : 'duplicate detection OFF: copies of one sent message race (outside the guarantee)';
  return [
    `queue: ${detection}; MaxDeliveryCount ${settings.maxDeliveryCount} (Azure's default); ` +
      `LockDuration ${settings.lockDuration} (short, so redeliveries after a crash come quickly)`,
    `podbus: selection ${settings.strategy}, maxConcurrentCalls ${settings.maxConcurrentCalls}, ` +
      `maxActivePods ${settings.maxActivePods} per cluster, clusterRequestTimeoutMs ` +
      `${settings.clusterRequestTimeoutMs} and retry.maxDelayMs ${settings.retryMaxDelayMs} ` +
      '(shorter than the defaults, to keep the run quick); everything else as shipped',
  ];
}
