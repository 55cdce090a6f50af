import type { EventSink } from '../shared/typed-events.js';
import type { Delivery, WorkerEvents } from './events.js';

/**
 * Keeps one message's peek-lock alive while the worker handles it.
 *
 * podbus renews locks itself (the SDK's automatic renewal is turned off) for two reasons:
 * - every renewal becomes visible (metrics, logs), and
 * - a lost lock is known at once, so the handler can stop *before* creating a pod that another
 *   replica, now holding the redelivered message, might also create.
 *
 * Timing follows the SDK's own renewer: renew at lockedUntil - min(remaining / 2, 10 s).
 */
export type RenewResult =
  { ok: true; lockedUntil: Date } | { ok: false; lockLost: boolean; error: unknown };

export interface LockKeeperOptions {
  /** Renews the lock and returns the new expiry; rejects with the SDK's error on failure. */
  renew: () => Promise<Date>;
  /** Tells a lock-lost error from a transient one. */
  isLockLost: (error: unknown) => boolean;
  lockedUntil: Date;
  /** Renewal stops after this long; the handler must settle or abandon before then. */
  maxRenewalDurationMs: number;
  /** After a transient renewal error, retry this soon (while the lock is still valid). */
  retryAfterErrorMs?: number;
  /** Where every renewal's result is told (the worker's events, for metrics and logs). */
  reportTo?: {
    readonly events: EventSink<Pick<WorkerEvents, 'lockRenewal'>>;
    readonly delivery: Delivery;
  };
  now?: () => number;
}

export class LockKeeper {
  private readonly controller = new AbortController();
  private readonly now: () => number;
  private readonly startedAt: number;
  private lockedUntilMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The renewal under way, so a scheduled one and `confirm` never renew twice at once. */
  private renewing: Promise<void> | undefined;

  constructor(private readonly options: LockKeeperOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.lockedUntilMs = options.lockedUntil.getTime();
    this.schedule();
  }

  /** Aborted when the lock is lost (or has run out); handlers pass it to their waits. */
  get lostSignal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted || this.now() >= this.lockedUntilMs;
  }

  get lockedUntil(): Date {
    return new Date(this.lockedUntilMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * Renews the lock now and resolves once the broker answered: a lock it dropped early is then
   * known lost (`lostSignal` aborted) before the caller acts on it, instead of at the next
   * scheduled renewal, up to ~50 s into a 60 s lock. A transient renewal error leaves the lock
   * as it was (still valid until `lockedUntil`); the regular schedule retries.
   */
  async confirm(): Promise<void> {
    // Past the renewal budget the lock is left to run out (see schedule): nothing to confirm.
    if (this.stopped || this.now() - this.startedAt > this.options.maxRenewalDurationMs) return;
    if (this.timer) clearTimeout(this.timer);
    await this.renewNow();
  }

  private schedule(delayOverrideMs?: number): void {
    if (this.stopped) return;
    const remaining = this.lockedUntilMs - this.now();
    if (remaining <= 0) {
      this.markLost(new Error('message lock expired before it could be renewed'));
      return;
    }
    const delay = Math.max(
      0,
      Math.min(delayOverrideMs ?? remaining - Math.min(remaining / 2, 10_000), remaining),
    );
    if (this.now() + delay - this.startedAt > this.options.maxRenewalDurationMs) {
      // The next renewal would fall outside the renewal budget: let the lock run out, and
      // report it lost when it does.
      this.timer = setTimeout(() => this.schedule(), remaining);
      this.timer.unref();
      return;
    }
    this.timer = setTimeout(() => void this.renewNow(), delay);
    this.timer.unref();
  }

  private renewNow(): Promise<void> {
    this.renewing ??= this.renewOnce().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      const lockedUntil = await this.options.renew();
      this.lockedUntilMs = lockedUntil.getTime();
      this.report({ ok: true, lockedUntil });
      this.schedule();
    } catch (error) {
      const lockLost = this.options.isLockLost(error);
      this.report({ ok: false, lockLost, error });
      if (lockLost) this.markLost(error);
      else this.schedule(this.options.retryAfterErrorMs ?? 1_000);
    }
  }

  private report(result: RenewResult): void {
    const to = this.options.reportTo;
    to?.events.emit('lockRenewal', { delivery: to.delivery, result });
  }

  private markLost(reason: unknown): void {
    this.stop();
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }
}
