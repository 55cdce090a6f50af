/**
 * Images as the simulated kubelet sees them: the outcome conventions a container's image
 * reference and env select, and the names, digests and sizes containerd would report.
 */
import { createHash } from 'node:crypto';

import type { JsonObject } from './store.js';

export const UNREACHABLE_REGISTRY = 'unreachable.example';

/** What a container will do, by image/env convention. */
export interface ContainerOutcome {
  pullError?: 'ErrImagePull';
  exitCode: number;
  /** How long it runs; undefined = until deleted or the deadline. */
  runMs: number | undefined;
  terminatedReason: 'Completed' | 'Error' | 'OOMKilled';
}

function envOf(c: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(c.env))
    for (const e of c.env as JsonObject[])
      if (e && typeof e.name === 'string' && typeof e.value === 'string') out[e.name] = e.value;
  return out;
}

/**
 * The image outcome conventions (documented in README.md):
 * - registry host `unreachable.example` -> ErrImagePull / ImagePullBackOff, pod stays Pending;
 * - `exit-<N>` in the image reference or env PODBUS_EMULATOR_EXIT_CODE=N -> exits with N;
 * - `oomkilled` in the image reference -> exit 137, reason OOMKilled;
 * - `sleep-<S>` in the image reference (seconds) or env PODBUS_EMULATOR_RUN_MS=N -> runs that
 *   long; `sleep-infinity` -> runs until deleted or its activeDeadlineSeconds;
 * - otherwise exit 0 after the cluster's `runMs`.
 */
export function containerOutcome(c: JsonObject, defaultRunMs: number): ContainerOutcome {
  const image = typeof c.image === 'string' ? c.image : '';
  const env = envOf(c);
  const firstSlash = image.indexOf('/');
  const registry = firstSlash > 0 ? image.slice(0, firstSlash) : '';
  if (registry === UNREACHABLE_REGISTRY || registry.startsWith(`${UNREACHABLE_REGISTRY}:`))
    return {
      pullError: 'ErrImagePull',
      exitCode: 0,
      runMs: undefined,
      terminatedReason: 'Completed',
    };
  let exitCode = 0;
  let reason: ContainerOutcome['terminatedReason'] = 'Completed';
  const exitMatch = /(?:^|[^a-z0-9])exit-(\d{1,3})(?![0-9])/.exec(image);
  if (env.PODBUS_EMULATOR_EXIT_CODE !== undefined && /^\d+$/.test(env.PODBUS_EMULATOR_EXIT_CODE))
    exitCode = Number(env.PODBUS_EMULATOR_EXIT_CODE) % 256;
  else if (exitMatch) exitCode = Number(exitMatch[1]) % 256;
  if (/oomkilled/i.test(image)) {
    exitCode = 137;
    reason = 'OOMKilled';
  } else if (exitCode !== 0) reason = 'Error';
  let runMs: number | undefined = defaultRunMs;
  const sleep = /(?:^|[^a-z0-9])sleep-(infinity|\d+)(?![0-9])/.exec(image);
  if (env.PODBUS_EMULATOR_RUN_MS !== undefined && /^\d+$/.test(env.PODBUS_EMULATOR_RUN_MS))
    runMs = Number(env.PODBUS_EMULATOR_RUN_MS);
  else if (sleep) runMs = sleep[1] === 'infinity' ? undefined : Number(sleep[1]) * 1000;
  return { exitCode, runMs, terminatedReason: reason };
}

/** docker.io/library/busybox:latest for `busybox`, as containerd reports it. */
export function normalizeImage(image: string): string {
  let ref = image;
  const firstSlash = ref.indexOf('/');
  const first = firstSlash > 0 ? ref.slice(0, firstSlash) : '';
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  if (!hasRegistry) ref = firstSlash > 0 ? `docker.io/${ref}` : `docker.io/library/${ref}`;
  const lastSlash = ref.lastIndexOf('/');
  if (!ref.includes('@') && ref.lastIndexOf(':') <= lastSlash) ref += ':latest';
  return ref;
}

export function imageId(image: string): string {
  const normalized = normalizeImage(image);
  const repo = normalized.replace(/[:@][^/]*$/, '');
  return `${repo}@sha256:${createHash('sha256').update(normalized).digest('hex')}`;
}

/** The simulated size of an image, stable per reference (the Pulled event reports it). */
export function imageSizeBytes(image: string): number {
  const h = createHash('sha256').update(normalizeImage(image)).digest();
  return 1_000_000 + (h.readUInt32BE(0) % 50_000_000);
}

/** The registry error a pull from `unreachable.example` gets (containerd's wording). */
export function pullErrorMessage(image: string): string {
  const ref = normalizeImage(image);
  return `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": failed to do request: Head "https://${UNREACHABLE_REGISTRY}/v2/": dial tcp: lookup ${UNREACHABLE_REGISTRY}: no such host`;
}
