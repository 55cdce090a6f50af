import type { ResourceName } from '../message/challenge-request.js';
import { PODBUS_LABEL_KEYS } from '../message/metadata-keys.js';
import { compileImageAllowlist } from './image-allowlist.js';
import type { ImageAllowlist } from './image-allowlist.js';
import { mustParseQuantity } from './quantity.js';
import type { Quantity } from './quantity.js';
import type { CpuMemory, ResourceDefaults } from './resources.js';

/** What the operator allows a message to ask for: the `policy` section of the configuration. */
export interface PolicySettings {
  /** Image patterns (see image-allowlist.ts); required and non-empty, `*` allows everything. */
  readonly allowedImages: readonly string[];
  /** Largest accepted message body in bytes; larger messages are dead-lettered. */
  readonly maxBodyBytes: number;
  readonly maxContainers: number;
  readonly maxEnvVarsPerContainer: number;
  /** Pod activeDeadlineSeconds when the message sets none. */
  readonly defaultActiveDeadlineSeconds: number;
  /** Largest activeDeadlineSeconds a message may ask for. */
  readonly maxActiveDeadlineSeconds: number;
  readonly resources: {
    /** Applied to every container value the message leaves out. */
    readonly defaults: ResourceDefaults;
    /** Upper bound for every request and limit a message sets, per container. */
    readonly max: CpuMemory;
  };
  readonly labels: {
    /** Most labels one message may set. */
    readonly maxCount: number;
    /** Label key prefixes (and their subdomains) a message may not use, e.g. kubernetes.io. */
    readonly forbiddenPrefixes: readonly string[];
  };
}

/** PolicySettings compiled once: patterns as regular expressions, quantities parsed. */
export interface Policy extends PolicySettings {
  readonly images: ImageAllowlist;
  readonly maxQuantity: Readonly<Record<ResourceName, Quantity>>;
  /** Label keys a message may not set: podbus's own plus the operator's `pod.labels`. */
  readonly reservedLabelKeys: ReadonlySet<string>;
}

/**
 * Compiles validated settings (the config loader has already reported bad patterns and
 * quantities with their paths; this throws only on a programming error).
 */
export function createPolicy(
  settings: PolicySettings,
  options: { readonly operatorLabelKeys?: Iterable<string> } = {},
): Policy {
  return {
    ...settings,
    images: compileImageAllowlist(settings.allowedImages),
    maxQuantity: {
      cpu: mustParseQuantity(settings.resources.max.cpu),
      memory: mustParseQuantity(settings.resources.max.memory),
    },
    reservedLabelKeys: new Set([...PODBUS_LABEL_KEYS, ...(options.operatorLabelKeys ?? [])]),
  };
}

/**
 * The Policy of a loaded configuration: `policy` plus the keys of `pod.labels`, which messages
 * may not set either (they would be overwritten on the pod).
 */
export function policyForConfig(config: {
  readonly policy: PolicySettings;
  readonly pod: { readonly labels: Readonly<Record<string, string>> };
}): Policy {
  return createPolicy(config.policy, { operatorLabelKeys: Object.keys(config.pod.labels) });
}
