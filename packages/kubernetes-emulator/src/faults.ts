/**
 * Fault injection state of one cluster, switched at runtime (in-process API or the admin
 * endpoint) or given in the cluster's config. Decisions that involve chance draw from the
 * cluster's seeded generator, so a seed reproduces which requests fail.
 */
import type { SeededRandom } from './random.js';
import type {
  FaultAmbiguousOutcome,
  FaultAmbiguousWrite,
  FaultConfig,
  FaultControl,
  FaultErrorRate,
  FaultPatch,
  FaultVerb,
  FaultWriteVerb,
} from './types.js';

const VERBS: readonly FaultVerb[] = [
  'create',
  'get',
  'list',
  'delete',
  'watch',
  'update',
  'patch',
  '*',
];
const WRITE_VERBS: readonly FaultWriteVerb[] = ['create', 'update', 'patch', 'delete', '*'];
const STATUSES = [500, 503, 504];
const OUTCOMES: readonly FaultAmbiguousOutcome[] = ['reset', 'delay', 500, 504];
const KEYS = [
  'latencyMs',
  'jitterMs',
  'errorRate',
  'ambiguousWrite',
  'throttle',
  'quotaFull',
  'connectionReset',
  'blackhole',
  'down',
  'clearAfterMs',
];

export class FaultConfigError extends Error {
  override readonly name = 'FaultConfigError';
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new FaultConfigError(
      `${name} must be a non-negative number, got ${JSON.stringify(value)}`,
    );
  return value;
}

function objectOf(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new FaultConfigError(`${name} must be an object`);
  return value as Record<string, unknown>;
}

function rateOf(value: unknown, name: string): number {
  const rate = nonNegative(value, name);
  if (rate > 1) throw new FaultConfigError(`${name} must be between 0 and 1`);
  return rate;
}

/** The optional `resources` filter: a non-empty list of resource names. */
function resourcesOf(value: unknown, name: string): { resources?: string[] } {
  if (value === undefined) return {};
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.some((r) => typeof r !== 'string' || r === '')
  )
    throw new FaultConfigError(
      `${name} must be a non-empty list of resource names (e.g. ["pods"])`,
    );
  return { resources: [...(value as string[])] };
}

/** Per-verb specs: `{ <verb>: spec }` with the verbs `known`. */
function perVerb<V extends string, T>(
  value: unknown,
  name: string,
  known: readonly V[],
  parse: (spec: unknown, path: string) => T,
): Partial<Record<V, T>> {
  const out: Partial<Record<V, T>> = {};
  for (const [verb, spec] of Object.entries(objectOf(value, name))) {
    if (!known.includes(verb as V))
      throw new FaultConfigError(`${name}: unknown verb "${verb}" (known: ${known.join(', ')})`);
    out[verb as V] = parse(spec, `${name}.${verb}`);
  }
  return out;
}

function parseErrorRate(value: unknown, path: string): FaultErrorRate {
  const s = objectOf(value, path);
  const rate = rateOf(s.rate, `${path}.rate`);
  if (!STATUSES.includes(s.status as number))
    throw new FaultConfigError(`${path}.status must be one of 500, 503, 504`);
  return {
    rate,
    status: s.status as FaultErrorRate['status'],
    ...resourcesOf(s.resources, `${path}.resources`),
  };
}

/** One spec, or a non-empty list of them (drawn in turn). */
function parseAmbiguousWrites(
  value: unknown,
  path: string,
): FaultAmbiguousWrite | FaultAmbiguousWrite[] {
  if (!Array.isArray(value)) return parseAmbiguousWrite(value, path);
  if (value.length === 0) throw new FaultConfigError(`${path} must not be an empty list`);
  return value.map((v, i) => parseAmbiguousWrite(v, `${path}[${i}]`));
}

function parseAmbiguousWrite(value: unknown, path: string): FaultAmbiguousWrite {
  const s = objectOf(value, path);
  const rate = rateOf(s.rate, `${path}.rate`);
  const outcome = s.outcome as FaultAmbiguousOutcome;
  if (!OUTCOMES.includes(outcome))
    throw new FaultConfigError(`${path}.outcome must be one of "reset", "delay", 500, 504`);
  const spec: FaultAmbiguousWrite = { rate, outcome };
  if (outcome === 'delay') {
    const delayMs = nonNegative(s.delayMs, `${path}.delayMs`);
    if (delayMs <= 0)
      throw new FaultConfigError(`${path}.delayMs must be > 0 with outcome "delay"`);
    spec.delayMs = delayMs;
  } else if (s.delayMs !== undefined)
    throw new FaultConfigError(`${path}.delayMs is only valid with outcome "delay"`);
  return { ...spec, ...resourcesOf(s.resources, `${path}.resources`) };
}

function parseThrottle(v: unknown): NonNullable<FaultConfig['throttle']> {
  const t = objectOf(v, 'throttle');
  const retryAfterSeconds = nonNegative(t.retryAfterSeconds, 'throttle.retryAfterSeconds');
  if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 1)
    throw new FaultConfigError('throttle.retryAfterSeconds must be an integer >= 1');
  const throttle: NonNullable<FaultConfig['throttle']> = { retryAfterSeconds };
  if (t.count !== undefined) {
    const count = nonNegative(t.count, 'throttle.count');
    if (!Number.isInteger(count)) throw new FaultConfigError('throttle.count must be an integer');
    throttle.count = count;
  }
  if (t.rate !== undefined) throttle.rate = rateOf(t.rate, 'throttle.rate');
  return throttle;
}

function parseQuotaFull(v: unknown): NonNullable<FaultConfig['quotaFull']> {
  const q = objectOf(v, 'quotaFull');
  if (q.quota === undefined) return {};
  if (typeof q.quota !== 'string' || q.quota === '')
    throw new FaultConfigError('quotaFull.quota must be a non-empty string');
  return { quota: q.quota };
}

/** Validates untrusted input (admin endpoint JSON) into a FaultConfig patch; null clears a key. */
export function parseFaultConfig(input: unknown): FaultConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new FaultConfigError('faults must be a JSON object');
  const raw = input as Record<string, unknown>;
  for (const k of Object.keys(raw))
    if (!KEYS.includes(k))
      throw new FaultConfigError(`unknown fault "${k}" (known: ${KEYS.join(', ')})`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === null || v === undefined) {
      out[k] = undefined;
      continue;
    }
    switch (k) {
      case 'latencyMs':
      case 'jitterMs':
      case 'clearAfterMs':
        out[k] = nonNegative(v, k);
        break;
      case 'connectionReset':
      case 'blackhole':
      case 'down':
        if (typeof v !== 'boolean') throw new FaultConfigError(`${k} must be a boolean`);
        out[k] = v;
        break;
      case 'throttle':
        out.throttle = parseThrottle(v);
        break;
      case 'quotaFull':
        out.quotaFull = parseQuotaFull(v);
        break;
      case 'errorRate':
        out.errorRate = perVerb(v, 'errorRate', VERBS, parseErrorRate);
        break;
      case 'ambiguousWrite':
        out.ambiguousWrite = perVerb(v, 'ambiguousWrite', WRITE_VERBS, parseAmbiguousWrites);
        break;
    }
  }
  return out as FaultConfig;
}

/** The request a fault decision is about. */
export interface FaultTarget {
  verb: string;
  resource: string;
  subresource: string;
}

function appliesTo(spec: { resources?: string[] }, target: FaultTarget): boolean {
  if (spec.resources === undefined) return true;
  const full = target.subresource ? `${target.resource}/${target.subresource}` : target.resource;
  return spec.resources.includes(full);
}

/** The write verb a request's verb counts as for `ambiguousWrite`. */
function writeVerbOf(verb: string): FaultWriteVerb | undefined {
  if (verb === 'deletecollection') return 'delete';
  return (WRITE_VERBS as readonly string[]).includes(verb) && verb !== '*'
    ? (verb as FaultWriteVerb)
    : undefined;
}

/** Connection-level effects of faults, implemented by the listener. */
export interface ListenerControl {
  setDown(down: boolean): Promise<void>;
}

export class FaultState implements FaultControl {
  private current: FaultConfig = {};
  private clearTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly random: SeededRandom,
    private readonly listener: ListenerControl,
  ) {}

  get(): FaultConfig {
    return structuredClone(this.current);
  }

  /** The faults `set` (merge) or `replace` would produce, without applying them. Validates. */
  preview(faults: FaultPatch, mode: 'merge' | 'replace'): FaultConfig {
    const patch = parseFaultConfig(faults);
    const next: Record<string, unknown> = mode === 'merge' ? { ...this.current } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    return next as FaultConfig;
  }

  async set(faults: FaultPatch): Promise<void> {
    await this.apply(this.preview(faults, 'merge'));
  }

  async replace(faults: FaultConfig): Promise<void> {
    await this.apply(this.preview(faults, 'replace'));
  }

  async clear(): Promise<void> {
    await this.apply({});
  }

  private async apply(next: FaultConfig): Promise<void> {
    const wasDown = this.current.down === true;
    this.current = next;
    if (this.clearTimer) {
      clearTimeout(this.clearTimer);
      this.clearTimer = undefined;
    }
    if (next.clearAfterMs !== undefined) {
      this.clearTimer = setTimeout(() => {
        this.clearTimer = undefined;
        void this.clear();
      }, next.clearAfterMs);
      this.clearTimer.unref();
    }
    const isDown = next.down === true;
    if (isDown !== wasDown) await this.listener.setDown(isDown);
  }

  /** Stops the auto-clear timer (emulator shutdown). */
  dispose(): void {
    if (this.clearTimer) clearTimeout(this.clearTimer);
    this.clearTimer = undefined;
  }

  get blackhole(): boolean {
    return this.current.blackhole === true;
  }

  get connectionReset(): boolean {
    return this.current.connectionReset === true;
  }

  /** Milliseconds to delay this request (0 when no latency fault). */
  latency(): number {
    const base = this.current.latencyMs ?? 0;
    const jitter = this.current.jitterMs ?? 0;
    return base + (jitter > 0 ? this.random.next() * jitter : 0);
  }

  /** Retry-After seconds when this request is throttled, consuming one from `count`. */
  takeThrottle(): number | undefined {
    const t = this.current.throttle;
    if (t === undefined) return undefined;
    if (t.count !== undefined && t.count <= 0) {
      const { throttle: _t, ...rest } = this.current;
      this.current = rest;
      return undefined;
    }
    if (t.rate !== undefined && !(this.random.next() < t.rate)) return undefined;
    if (t.count !== undefined) {
      const left = t.count - 1;
      if (left <= 0) {
        const { throttle: _t, ...rest } = this.current;
        this.current = rest;
      } else this.current = { ...this.current, throttle: { ...t, count: left } };
    }
    return t.retryAfterSeconds;
  }

  /** The injected status for this request, if it is chosen to fail before it is handled. */
  injectedError(target: FaultTarget | string): 500 | 503 | 504 | undefined {
    const rates = this.current.errorRate;
    if (rates === undefined) return undefined;
    const t = typeof target === 'string' ? { verb: target, resource: '', subresource: '' } : target;
    const spec = rates[t.verb as FaultVerb] ?? rates['*'];
    if (spec === undefined || spec.rate <= 0 || (t.resource !== '' && !appliesTo(spec, t)))
      return undefined;
    return this.random.next() < spec.rate ? spec.status : undefined;
  }

  /**
   * How the answer to this write is lost if it is chosen for an ambiguous write; decided
   * before the write (so the decision does not depend on its outcome), applied only when the
   * write succeeds.
   */
  ambiguousWrite(target: FaultTarget): FaultAmbiguousWrite | undefined {
    const specs = this.current.ambiguousWrite;
    if (specs === undefined) return undefined;
    const verb = writeVerbOf(target.verb);
    if (verb === undefined) return undefined;
    const entry = specs[verb] ?? specs['*'];
    if (entry === undefined) return undefined;
    for (const spec of Array.isArray(entry) ? entry : [entry]) {
      if (spec.rate <= 0 || !appliesTo(spec, target)) continue;
      if (this.random.next() < spec.rate) return spec;
    }
    return undefined;
  }

  /** The quota name pod creates are refused with while `quotaFull` is set. */
  get quotaFull(): string | undefined {
    const q = this.current.quotaFull;
    return q === undefined ? undefined : (q.quota ?? DEFAULT_FULL_QUOTA);
  }
}

/** The ResourceQuota name `quotaFull` reports when none is given. */
export const DEFAULT_FULL_QUOTA = 'emulated-quota';
