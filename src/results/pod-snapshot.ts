/**
 * What the results keeper knows of one pod: the few fields its outcome, its result and its
 * cleanup depend on, read from whatever the pod watch handed over. A listed pod is a
 * client-node model (timestamps are Dates), a watched one parsed JSON (timestamps are
 * strings); both read the same here. Times are epoch milliseconds.
 */
export interface PodSnapshot {
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly createdAt: number | undefined;
  /** When someone asked to delete the pod (deletionTimestamp minus its grace period). */
  readonly deletionRequestedAt: number | undefined;
  readonly phase: string | undefined;
  /** The pod's own reason (DeadlineExceeded, Evicted) and message. */
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly conditions: readonly ConditionSnapshot[];
  /** One per container of the spec, in its order, joined with its status when there is one. */
  readonly containers: readonly ContainerSnapshot[];
}

export interface ConditionSnapshot {
  readonly type: string;
  readonly status: string;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly lastTransitionAt: number | undefined;
}

export interface ContainerSnapshot {
  readonly name: string;
  readonly image: string;
  readonly state: 'waiting' | 'running' | 'terminated' | 'unknown';
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly exitCode: number | undefined;
  readonly signal: number | undefined;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly restartCount: number;
}

type Json = Record<string, unknown>;

/** The snapshot of a raw pod, or undefined when it has no name or uid (not a pod). */
export function podSnapshot(raw: unknown): PodSnapshot | undefined {
  const pod = object(raw);
  const metadata = object(pod.metadata);
  const name = text(metadata.name);
  const uid = text(metadata.uid);
  if (name === undefined || uid === undefined) return undefined;
  const spec = object(pod.spec);
  const status = object(pod.status);
  const deletionAt = time(metadata.deletionTimestamp);
  const grace =
    typeof metadata.deletionGracePeriodSeconds === 'number'
      ? metadata.deletionGracePeriodSeconds
      : 0;
  const statuses = new Map(
    list(status.containerStatuses).map((s) => [text(object(s).name) ?? '', object(s)]),
  );
  return {
    name,
    uid,
    labels: stringMap(metadata.labels),
    annotations: stringMap(metadata.annotations),
    createdAt: time(metadata.creationTimestamp),
    deletionRequestedAt: deletionAt === undefined ? undefined : deletionAt - grace * 1000,
    phase: text(status.phase),
    reason: text(status.reason),
    message: text(status.message),
    conditions: list(status.conditions).map((c) => {
      const condition = object(c);
      return {
        type: text(condition.type) ?? '',
        status: text(condition.status) ?? '',
        reason: text(condition.reason),
        message: text(condition.message),
        lastTransitionAt: time(condition.lastTransitionTime),
      };
    }),
    containers: list(spec.containers).map((c) => {
      const container = object(c);
      const name = text(container.name) ?? '';
      return containerSnapshot(name, text(container.image) ?? '', statuses.get(name));
    }),
  };
}

function containerSnapshot(
  name: string,
  image: string,
  status: Json | undefined,
): ContainerSnapshot {
  const state = object(status?.state);
  const base = {
    name,
    image: text(status?.image) ?? image,
    restartCount: typeof status?.restartCount === 'number' ? status.restartCount : 0,
  };
  const empty = {
    reason: undefined,
    message: undefined,
    exitCode: undefined,
    signal: undefined,
    startedAt: undefined,
    finishedAt: undefined,
  };
  if (state.terminated !== undefined && state.terminated !== null) {
    const t = object(state.terminated);
    return {
      ...base,
      state: 'terminated',
      reason: text(t.reason),
      message: text(t.message),
      exitCode: typeof t.exitCode === 'number' ? t.exitCode : undefined,
      signal: typeof t.signal === 'number' ? t.signal : undefined,
      startedAt: time(t.startedAt),
      finishedAt: time(t.finishedAt),
    };
  }
  if (state.running !== undefined && state.running !== null) {
    return {
      ...base,
      ...empty,
      state: 'running',
      startedAt: time(object(state.running).startedAt),
    };
  }
  if (state.waiting !== undefined && state.waiting !== null) {
    const w = object(state.waiting);
    return {
      ...base,
      ...empty,
      state: 'waiting',
      reason: text(w.reason),
      message: text(w.message),
    };
  }
  return { ...base, ...empty, state: 'unknown' };
}

function object(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(object(value))) if (typeof v === 'string') out[key] = v;
  return out;
}

/** A Kubernetes timestamp (Date from a client-node model, RFC 3339 text from a watch). */
function time(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
