/**
 * Fault injection state of one cluster, switched at runtime (in-process API or the admin
 * endpoint) or given in the cluster's config. Decisions that involve chance draw from the
 * cluster's seeded generator, so a seed reproduces which requests fail.
 */
import type { SeededRandom } from './random.js';
import type { FaultConfig, FaultControl, FaultErrorRate, FaultPatch, FaultVerb } from './types.js';

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
const STATUSES = [500, 503, 504];
const KEYS = [
  'latencyMs',
  'jitterMs',
  'errorRate',
  'throttle',
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
      case 'throttle': {
        if (typeof v !== 'object' || Array.isArray(v))
          throw new FaultConfigError('throttle must be an object');
        const t = v as Record<string, unknown>;
        const retryAfterSeconds = nonNegative(t.retryAfterSeconds, 'throttle.retryAfterSeconds');
        if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 1)
          throw new FaultConfigError('throttle.retryAfterSeconds must be an integer >= 1');
        const throttle: { retryAfterSeconds: number; count?: number } = { retryAfterSeconds };
        if (t.count !== undefined) {
          const count = nonNegative(t.count, 'throttle.count');
          if (!Number.isInteger(count))
            throw new FaultConfigError('throttle.count must be an integer');
          throttle.count = count;
        }
        out.throttle = throttle;
        break;
      }
      case 'errorRate': {
        if (typeof v !== 'object' || Array.isArray(v))
          throw new FaultConfigError('errorRate must be an object');
        const rates: Partial<Record<FaultVerb, FaultErrorRate>> = {};
        for (const [verb, spec] of Object.entries(v as Record<string, unknown>)) {
          if (!VERBS.includes(verb as FaultVerb))
            throw new FaultConfigError(
              `errorRate: unknown verb "${verb}" (known: ${VERBS.join(', ')})`,
            );
          const s = spec as Record<string, unknown> | null;
          if (typeof s !== 'object' || s === null)
            throw new FaultConfigError(`errorRate.${verb} must be an object`);
          const rate = nonNegative(s.rate, `errorRate.${verb}.rate`);
          if (rate > 1)
            throw new FaultConfigError(`errorRate.${verb}.rate must be between 0 and 1`);
          if (!STATUSES.includes(s.status as number))
            throw new FaultConfigError(`errorRate.${verb}.status must be one of 500, 503, 504`);
          rates[verb as FaultVerb] = { rate, status: s.status as 500 | 503 | 504 };
        }
        out.errorRate = rates;
        break;
      }
    }
  }
  return out as FaultConfig;
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
    if (t.count !== undefined) {
      if (t.count <= 0) {
        this.current = { ...this.current, throttle: undefined };
        delete this.current.throttle;
        return undefined;
      }
      const left = t.count - 1;
      if (left <= 0) {
        const { throttle: _t, ...rest } = this.current;
        this.current = rest;
      } else this.current = { ...this.current, throttle: { ...t, count: left } };
    }
    return t.retryAfterSeconds;
  }

  /** The injected status for a request with `verb`, if this one is chosen to fail. */
  injectedError(verb: string): 500 | 503 | 504 | undefined {
    const rates = this.current.errorRate;
    if (rates === undefined) return undefined;
    const spec = rates[verb as FaultVerb] ?? rates['*'];
    if (spec === undefined || spec.rate <= 0) return undefined;
    return this.random.next() < spec.rate ? spec.status : undefined;
  }
}
