import { readFileSync } from 'node:fs';

import { formatIsoDuration, parseIsoDuration } from './duration.js';

/**
 * The official Service Bus emulator's config.json (Azure/azure-service-bus-emulator-installer,
 * ServiceBus-Emulator/Schema/Config-schema.json). Only the parts podbus reads are typed; other
 * keys are allowed and ignored, as the official schema allows them.
 */
export interface EmulatorConfigFile {
  UserConfig: {
    Namespaces: EmulatorNamespaceConfig[];
    Logging?: { Type?: string };
  };
}

export interface EmulatorNamespaceConfig {
  Name?: string;
  Queues?: EmulatorQueueConfig[];
  Topics?: unknown[];
}

export interface EmulatorQueueConfig {
  Name: string;
  Properties?: EmulatorQueueProperties;
}

export interface EmulatorQueueProperties {
  DeadLetteringOnMessageExpiration?: boolean;
  DefaultMessageTimeToLive?: string;
  DuplicateDetectionHistoryTimeWindow?: string;
  ForwardDeadLetteredMessagesTo?: string;
  ForwardTo?: string;
  LockDuration?: string;
  MaxDeliveryCount?: number;
  RequiresDuplicateDetection?: boolean;
  RequiresSession?: boolean;
}

/** One queue as the emulator runs it (durations in milliseconds). */
export interface QueueSettings {
  name: string;
  lockDurationMs: number;
  maxDeliveryCount: number;
  defaultMessageTimeToLiveMs: number;
  deadLetteringOnMessageExpiration: boolean;
  requiresDuplicateDetection: boolean;
  duplicateDetectionHistoryTimeWindowMs: number;
}

export interface EmulatorSettings {
  namespace: string;
  queues: QueueSettings[];
  /** Things the config asked for that podbus accepts but does not do (logged at startup). */
  warnings: string[];
}

/** A config.json that cannot be used; the message names the file and the offending field. */
export class ServiceBusEmulatorConfigError extends Error {
  override readonly name = 'ServiceBusEmulatorConfigError';
}

/**
 * Defaults of the official emulator's schema. MaxDeliveryCount is 3 there (the cloud service's
 * default is 10): podbus follows the official emulator so one config.json behaves the same on
 * both; set "MaxDeliveryCount" explicitly to get the cloud behaviour.
 */
export const OFFICIAL_DEFAULTS = {
  lockDurationMs: 60_000,
  maxDeliveryCount: 3,
  defaultMessageTimeToLiveMs: 3_600_000,
  deadLetteringOnMessageExpiration: false,
  requiresDuplicateDetection: false,
  duplicateDetectionHistoryTimeWindowMs: 20_000,
} as const;

/** The official emulator's accepted ranges; values outside them work here but warn. */
const OFFICIAL_RANGES = {
  LockDuration: [5_000, 300_000],
  DefaultMessageTimeToLive: [300_000, 3_600_000],
  DuplicateDetectionHistoryTimeWindow: [5_000, 300_000],
  MaxDeliveryCount: [1, 10],
} as const;

/** Hard limits of this emulator (the cloud service's own limits). */
const MAX_LOCK_DURATION_MS = 300_000;
const MAX_DUPLICATE_WINDOW_MS = 7 * 24 * 3_600_000;

const ENTITY_NAME = /^[A-Za-z0-9]$|^[A-Za-z0-9][\w\-./]*[A-Za-z0-9]$/;
const KNOWN_QUEUE_PROPERTIES = new Set<string>([
  'DeadLetteringOnMessageExpiration',
  'DefaultMessageTimeToLive',
  'DuplicateDetectionHistoryTimeWindow',
  'ForwardDeadLetteredMessagesTo',
  'ForwardTo',
  'LockDuration',
  'MaxDeliveryCount',
  'RequiresDuplicateDetection',
  'RequiresSession',
]);

export const DEFAULT_QUEUE_NAME = 'challenges';
export const DEFAULT_NAMESPACE = 'sbemulatorns';

/** The config used when none is given: one queue, `challenges`, with the official defaults. */
export function defaultConfig(): EmulatorConfigFile {
  return {
    UserConfig: {
      Namespaces: [{ Name: DEFAULT_NAMESPACE, Queues: [{ Name: DEFAULT_QUEUE_NAME }] }],
      Logging: { Type: 'Console' },
    },
  };
}

/** Reads and validates a config.json file. */
export function loadConfigFile(path: string): EmulatorSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ServiceBusEmulatorConfigError(`cannot read config file ${path}: ${reason}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ServiceBusEmulatorConfigError(
      `config file ${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
  return parseConfig(parsed, path);
}

/** Resolves the `config` option: a path, a parsed object, or nothing (the default). */
export function resolveConfig(config: EmulatorConfigFile | string | undefined): EmulatorSettings {
  if (config === undefined) return parseConfig(defaultConfig(), 'default config');
  if (typeof config === 'string') return loadConfigFile(config);
  return parseConfig(config, 'config');
}

/** Validates an official-format config object; `source` names it in error messages. */
export function parseConfig(input: unknown, source: string): EmulatorSettings {
  const fail = (field: string, problem: string): never => {
    throw new ServiceBusEmulatorConfigError(`${source}: ${field} ${problem}`);
  };
  const warnings: string[] = [];
  if (!isObject(input)) fail('the top level', 'must be a JSON object with "UserConfig"');
  const userConfig = (input as Record<string, unknown>).UserConfig;
  if (!isObject(userConfig)) fail('UserConfig', 'is required and must be an object');
  const namespaces = (userConfig as Record<string, unknown>).Namespaces;
  if (!Array.isArray(namespaces) || namespaces.length !== 1) {
    fail('UserConfig.Namespaces', 'must be an array with exactly one namespace');
  }
  const ns: unknown = (namespaces as unknown[])[0];
  const nsPath = 'UserConfig.Namespaces[0]';
  if (!isObject(ns)) fail(nsPath, 'must be an object');
  const nsObj = ns as Record<string, unknown>;
  const nsName = nsObj.Name ?? DEFAULT_NAMESPACE;
  if (typeof nsName !== 'string' || nsName.length === 0) {
    fail(`${nsPath}.Name`, 'must be a non-empty string');
  }
  const topics = nsObj.Topics;
  if (topics !== undefined && !Array.isArray(topics)) fail(`${nsPath}.Topics`, 'must be an array');
  if (Array.isArray(topics) && topics.length > 0) {
    warnings.push(`${nsPath}.Topics: topics and subscriptions are not supported; ignored`);
  }
  const queuesInput = nsObj.Queues ?? [];
  if (!Array.isArray(queuesInput)) fail(`${nsPath}.Queues`, 'must be an array');
  const seen = new Set<string>();
  const queues: QueueSettings[] = [];
  (queuesInput as unknown[]).forEach((q, index) => {
    const path = `${nsPath}.Queues[${index}]`;
    if (!isObject(q)) fail(path, 'must be an object');
    const qObj = q as Record<string, unknown>;
    const name = qObj.Name;
    if (typeof name !== 'string' || !ENTITY_NAME.test(name)) {
      fail(
        `${path}.Name`,
        `must be a queue name (letters, digits, "-", "_", ".", "/"; starting and ending with a letter or digit), got ${JSON.stringify(name)}`,
      );
    }
    const key = (name as string).toLowerCase();
    if (seen.has(key)) fail(`${path}.Name`, `duplicates queue "${name as string}"`);
    seen.add(key);
    const props = qObj.Properties ?? {};
    if (!isObject(props)) fail(`${path}.Properties`, 'must be an object');
    queues.push(parseQueue(name as string, props as Record<string, unknown>, `${path}.Properties`));
  });

  function parseQueue(name: string, p: Record<string, unknown>, path: string): QueueSettings {
    for (const k of Object.keys(p)) {
      if (!KNOWN_QUEUE_PROPERTIES.has(k)) warnings.push(`${path}.${k}: unknown property; ignored`);
    }
    const bool = (k: string, dflt: boolean): boolean => {
      const v = p[k];
      if (v === undefined) return dflt;
      if (typeof v !== 'boolean') fail(`${path}.${k}`, `must be true or false, got ${show(v)}`);
      return v as boolean;
    };
    const duration = (k: keyof typeof OFFICIAL_RANGES, dflt: number, max: number): number => {
      const v = p[k];
      if (v === undefined) return dflt;
      const ms = typeof v === 'string' ? parseIsoDuration(v) : undefined;
      if (ms === undefined) {
        fail(`${path}.${k}`, `must be an ISO-8601 duration such as "PT1M", got ${show(v)}`);
      }
      if ((ms as number) <= 0) fail(`${path}.${k}`, `must be longer than zero, got ${show(v)}`);
      if ((ms as number) > max) {
        fail(`${path}.${k}`, `must be at most ${formatIsoDuration(max)}, got ${show(v)}`);
      }
      warnOutsideOfficial(k, ms as number, formatIsoDuration);
      return ms as number;
    };
    const warnOutsideOfficial = (
      k: keyof typeof OFFICIAL_RANGES,
      value: number,
      show: (n: number) => string,
    ): void => {
      const [lo, hi] = OFFICIAL_RANGES[k];
      if (value < lo || value > hi) {
        warnings.push(
          `${path}.${k}: ${show(value)} is outside the official emulator's range ${show(lo)}..${show(hi)}; podbus accepts it, the official emulator would not`,
        );
      }
    };
    const forward = (k: string): void => {
      const v = p[k];
      if (v === undefined || v === '') return;
      if (typeof v !== 'string') fail(`${path}.${k}`, `must be a string, got ${show(v)}`);
      warnings.push(`${path}.${k}: auto-forwarding is not supported; ignored`);
    };

    const maxDeliveryCount = p.MaxDeliveryCount ?? OFFICIAL_DEFAULTS.maxDeliveryCount;
    if (
      typeof maxDeliveryCount !== 'number' ||
      !Number.isInteger(maxDeliveryCount) ||
      maxDeliveryCount < 1
    ) {
      fail(`${path}.MaxDeliveryCount`, `must be an integer >= 1, got ${show(maxDeliveryCount)}`);
    }
    warnOutsideOfficial('MaxDeliveryCount', maxDeliveryCount as number, String);
    if (bool('RequiresSession', false)) {
      warnings.push(`${path}.RequiresSession: sessions are not supported; the queue has none`);
    }
    forward('ForwardTo');
    forward('ForwardDeadLetteredMessagesTo');
    return {
      name,
      lockDurationMs: duration(
        'LockDuration',
        OFFICIAL_DEFAULTS.lockDurationMs,
        MAX_LOCK_DURATION_MS,
      ),
      maxDeliveryCount: maxDeliveryCount as number,
      defaultMessageTimeToLiveMs: duration(
        'DefaultMessageTimeToLive',
        OFFICIAL_DEFAULTS.defaultMessageTimeToLiveMs,
        Number.MAX_SAFE_INTEGER,
      ),
      deadLetteringOnMessageExpiration: bool(
        'DeadLetteringOnMessageExpiration',
        OFFICIAL_DEFAULTS.deadLetteringOnMessageExpiration,
      ),
      requiresDuplicateDetection: bool(
        'RequiresDuplicateDetection',
        OFFICIAL_DEFAULTS.requiresDuplicateDetection,
      ),
      duplicateDetectionHistoryTimeWindowMs: duration(
        'DuplicateDetectionHistoryTimeWindow',
        OFFICIAL_DEFAULTS.duplicateDetectionHistoryTimeWindowMs,
        MAX_DUPLICATE_WINDOW_MS,
      ),
    };
  }

  return { namespace: nsName as string, queues, warnings };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}
