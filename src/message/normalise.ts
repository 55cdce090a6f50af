import type {
  ChallengeRequest,
  ContainerRequest,
  EnvVar,
  MessageForm,
  ResourceList,
  ResourceRequest,
} from './challenge-request.js';

/**
 * Schema-valid message -> ChallengeRequest. Only called after validation, so the casts below
 * restate what the schema has already checked. `null` means "absent" (C# and Python serialisers
 * write nulls for unset properties); empty command/args mean "use the image's" as in Kubernetes.
 */
export function normalise(value: unknown, form: MessageForm, messageId: string): ChallengeRequest {
  return form === 'seed'
    ? fromSeed(value as SeedMessage, messageId)
    : fromCamel(value as CamelMessage, messageId);
}

interface SeedMessage {
  ChallengeId: string;
  Containers: { Name: string }[];
}

interface CamelMessage {
  challengeId: string;
  containers: CamelContainer[];
  cluster?: string | null;
  labels?: Record<string, string> | null;
  activeDeadlineSeconds?: number | null;
}

interface CamelContainer {
  image: string;
  name?: string | null;
  command?: string[] | null;
  args?: string[] | null;
  env?: { name: string; value?: string | null }[] | null;
  resources?: {
    requests?: RawResourceList | null;
    limits?: RawResourceList | null;
  } | null;
}

type RawResourceList = { cpu?: string | number; memory?: string | number };

function fromSeed(message: SeedMessage, messageId: string): ChallengeRequest {
  return {
    messageId,
    challengeId: message.ChallengeId,
    containers: message.Containers.map((c) => ({ image: c.Name, env: [] })),
    labels: {},
  };
}

function fromCamel(message: CamelMessage, messageId: string): ChallengeRequest {
  return {
    messageId,
    challengeId: message.challengeId,
    containers: message.containers.map(container),
    labels: Object.fromEntries(Object.entries(message.labels ?? {})),
    ...present('cluster', message.cluster),
    ...present('activeDeadlineSeconds', message.activeDeadlineSeconds),
  };
}

function container(c: CamelContainer): ContainerRequest {
  return {
    image: c.image,
    env: (c.env ?? []).map((e): EnvVar => ({ name: e.name, value: e.value ?? '' })),
    ...present('name', c.name),
    ...present('command', nonEmpty(c.command)),
    ...present('args', nonEmpty(c.args)),
    ...present('resources', resources(c.resources)),
  };
}

function resources(raw: CamelContainer['resources']): ResourceRequest | undefined {
  const requests = resourceList(raw?.requests);
  const limits = resourceList(raw?.limits);
  if (!requests && !limits) return undefined;
  return { ...present('requests', requests), ...present('limits', limits) };
}

/** Numbers become strings (`0.5` -> "0.5") so every quantity has one representation. */
function resourceList(raw: RawResourceList | null | undefined): ResourceList | undefined {
  if (!raw) return undefined;
  const list: Record<string, string> = {};
  if (raw.cpu !== undefined) list.cpu = String(raw.cpu);
  if (raw.memory !== undefined) list.memory = String(raw.memory);
  return Object.keys(list).length > 0 ? list : undefined;
}

function nonEmpty<T>(list: readonly T[] | null | undefined): readonly T[] | undefined {
  return list && list.length > 0 ? [...list] : undefined;
}

/** `{ key: value }` when the value is present, `{}` otherwise: no `undefined` keys in requests. */
function present<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return value === null || value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
