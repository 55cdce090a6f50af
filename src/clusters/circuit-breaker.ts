import type { EventSink } from '../shared/typed-events.js';
import type { ClusterErrorKind, HealthImpact } from './errors.js';
import type { ClusterEvents } from './events.js';

/**
 * Per-cluster circuit breaker.
 *
 *   closed ──(failureThreshold consecutive failures)──▶ open
 *   open ──(cool-down elapsed; next call is let through as the probe)──▶ half-open
 *   half-open ──(probe succeeds)──▶ closed
 *   half-open ──(probe fails)──▶ open, with the cool-down doubled (up to maxOpenMs)
 *
 * "Failure" means the cluster is unusable for every message: connection errors, timeouts, 5xx,
 * 401, 403, a missing namespace, TLS (see `healthImpactOf`). 409/422/404-pod prove the API
 * server answered and count as success; 429 and caller aborts are neutral.
 *
 * Only one probe is in flight in half-open. If its result never arrives (the caller lost
 * interest), another probe is allowed after `probeTimeoutMs`. Results that arrive while open
 * come from calls started before it opened and are ignored.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /**
   * Consecutive failures that open the circuit.
   * @defaultValue 5
   */
  readonly failureThreshold: number;
  /**
   * First cool-down before a probe is let through.
   * @defaultValue 5_000
   */
  readonly openMs: number;
  /**
   * Cool-down ceiling; it doubles after each failed probe.
   * @defaultValue 60_000
   */
  readonly maxOpenMs: number;
  /**
   * After this long without a result, a half-open probe is presumed lost.
   * @defaultValue 60_000
   */
  readonly probeTimeoutMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  failureThreshold: 5,
  openMs: 5_000,
  maxOpenMs: 60_000,
  probeTimeoutMs: 60_000,
};

export interface BreakerStateChange {
  readonly cluster: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** Human-readable cause, e.g. "5 consecutive failures (last: connection)". */
  readonly reason: string;
  readonly at: number;
}

/** What a cluster client needs from a breaker. */
export interface BreakerGate {
  /** Whether a call may go out now; in half-open, true claims the single probe slot. */
  tryAcquire(): boolean;
  record(impact: HealthImpact, kind?: ClusterErrorKind): void;
}

export interface CircuitBreakerInit {
  readonly cluster: string;
  readonly options?: Partial<BreakerOptions>;
  readonly now?: () => number;
  /** Where the breaker says when it changes state. */
  readonly events?: EventSink<Pick<ClusterEvents, 'breakerStateChanged'>>;
}

export class CircuitBreaker implements BreakerGate {
  readonly cluster: string;
  private readonly options: BreakerOptions;
  private readonly now: () => number;
  private readonly events: EventSink<Pick<ClusterEvents, 'breakerStateChanged'>> | undefined;
  private current: BreakerState = 'closed';
  private failures = 0;
  private openUntil = 0;
  private cooldownMs: number;
  private probeSince: number | undefined;

  constructor(init: CircuitBreakerInit) {
    this.cluster = init.cluster;
    this.options = { ...DEFAULT_BREAKER_OPTIONS, ...init.options };
    this.now = init.now ?? Date.now;
    this.events = init.events;
    this.cooldownMs = this.options.openMs;
  }

  /** The state now; an open circuit whose cool-down has elapsed reads as half-open. */
  get state(): BreakerState {
    this.advance();
    return this.current;
  }

  /** Consecutive failures counted so far in the closed state. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Whether `tryAcquire` would succeed now (no side effects on the probe slot). */
  isAvailable(): boolean {
    this.advance();
    if (this.current === 'closed') return true;
    if (this.current === 'open') return false;
    return !this.probeInFlight();
  }

  tryAcquire(): boolean {
    if (!this.isAvailable()) return false;
    if (this.current === 'half-open') this.probeSince = this.now();
    return true;
  }

  record(impact: HealthImpact, kind?: ClusterErrorKind): void {
    this.advance();
    if (this.current === 'open') return;
    if (impact === 'success') {
      this.failures = 0;
      if (this.current === 'half-open') {
        this.cooldownMs = this.options.openMs;
        this.probeSince = undefined;
        this.transition('closed', 'probe succeeded');
      }
      return;
    }
    if (impact === 'neutral') {
      if (this.current === 'half-open') this.probeSince = undefined;
      return;
    }
    const last = kind === undefined ? '' : ` (last: ${kind})`;
    if (this.current === 'half-open') {
      this.cooldownMs = Math.min(this.options.maxOpenMs, this.cooldownMs * 2);
      this.open(`probe failed${last}`);
      return;
    }
    this.failures += 1;
    if (this.failures >= this.options.failureThreshold) {
      this.open(`${this.failures} consecutive failures${last}`);
    }
  }

  private open(reason: string): void {
    this.failures = 0;
    this.probeSince = undefined;
    this.openUntil = this.now() + this.cooldownMs;
    this.transition('open', reason);
  }

  private advance(): void {
    if (this.current === 'open' && this.now() >= this.openUntil) {
      this.transition('half-open', `cool-down of ${this.cooldownMs} ms elapsed`);
    }
  }

  private probeInFlight(): boolean {
    return (
      this.probeSince !== undefined && this.now() - this.probeSince < this.options.probeTimeoutMs
    );
  }

  private transition(to: BreakerState, reason: string): void {
    const from = this.current;
    this.current = to;
    this.events?.emit('breakerStateChanged', {
      cluster: this.cluster,
      from,
      to,
      reason,
      at: this.now(),
    });
  }
}
