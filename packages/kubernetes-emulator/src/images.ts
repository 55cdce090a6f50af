/**
 * Images as the simulated kubelet sees them: the outcome conventions a container's image
 * reference and env select, the references a real kubelet refuses (InvalidImageName), and the
 * names, digests and sizes containerd would report.
 */
import { createHash } from 'node:crypto';

import type { JsonObject } from './store.js';

export const UNREACHABLE_REGISTRY = 'unreachable.example';

/** What a container will do, by image/env convention. */
export interface ContainerOutcome {
  /** The kubelet refuses the reference (InvalidImageName): its message. */
  invalidImage?: string;
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
 * - a reference the kubelet cannot parse (uppercase repository, ...) -> InvalidImageName;
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
  const invalidImage = invalidImageMessage(image);
  if (invalidImage !== undefined)
    return { invalidImage, exitCode: 0, runMs: undefined, terminatedReason: 'Completed' };
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

// The grammar of github.com/distribution/reference (v0.6, vendored by Kubernetes 1.32).
const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** reference.ParseNormalizedNamed's error for `image`, or undefined when it parses. */
function referenceError(image: string): string | undefined {
  if (IDENTIFIER_RE.test(image))
    return `invalid repository name (${image}), cannot specify 64-byte hexadecimal strings`;
  // splitDockerDomain: the first element is a registry when it looks like a host.
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  let domain = 'docker.io';
  let remainder = image;
  if (
    slash >= 0 &&
    (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first)
  ) {
    domain = first === 'index.docker.io' ? 'docker.io' : first;
    remainder = image.slice(slash + 1);
  }
  if (domain === 'docker.io' && !remainder.includes('/')) remainder = `library/${remainder}`;
  const colon = remainder.indexOf(':');
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote)
    return `invalid reference format: repository name (${remote}) must be lowercase`;
  const full = `${domain}/${remainder}`;
  const m = REFERENCE_RE.exec(full);
  if (!m) {
    if (REFERENCE_RE.test(full.toLowerCase())) return 'repository name must be lowercase';
    return 'invalid reference format';
  }
  if ((m[1] as string).length > 255) return 'repository name must not be more than 255 characters';
  const digest = m[3];
  if (digest !== undefined) {
    const [algorithm, hex] = digest.split(':') as [string, string];
    const length = DIGEST_HEX_LENGTH[algorithm];
    if (length === undefined) return 'unsupported digest algorithm';
    if (hex.length !== length) return 'invalid checksum digest length';
    if (!/^[a-f0-9]+$/.test(hex)) return 'invalid checksum digest format';
  }
  return undefined;
}

/**
 * The kubelet's message for an image reference it cannot parse (image_manager.go
 * applyDefaultImageTag), shown as the container's InvalidImageName waiting message; undefined
 * for a reference it accepts. The API server accepts any non-blank image, so these pods are
 * created and then stay Pending.
 */
export function invalidImageMessage(image: string): string | undefined {
  const why = referenceError(image);
  if (why === undefined) return undefined;
  return `Failed to apply default image tag ${JSON.stringify(image)}: couldn't parse image name ${JSON.stringify(image)}: ${why}`;
}
