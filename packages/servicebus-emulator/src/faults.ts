import { SeededRandom } from './random.js';

/**
 * Broker faults for chaos and soak runs (README, "Fault injection"). Rate-based faults draw from
 * one seeded generator per fault kind, so a seed reproduces which events are hit given the same
 * order of events, and turning one fault on does not change the draws of another.
 */

/** Conditions a failed settlement can be answered with, as the real service sends them. */
export type SettlementErrorCondition =
  'amqp:internal-error' | 'com.microsoft:server-busy' | 'com.microsoft:timeout';

export interface ServiceBusFaultConfig {
  /**
   * At each message event on a connection (a message received from a sender, a message handed
   * to a receiver, a settlement received), drop that connection with probability `rate`, right
   * after the event was processed and before its answer reaches the client. `reset` (default)
   * resets the TCP connection; `close` sends an AMQP close with `amqp:connection:forced`.
   */
  connectionDrop?: { rate: number; how?: 'reset' | 'close' };
  /**
   * Each lock handed out is, with probability `rate`, forgotten by the broker `afterMs` after it
   * was taken (default: a seeded point within the queue's lock duration), even if renewed.
   */
  lockLoss?: { rate: number; afterMs?: number };
  /**
   * A settlement (complete, abandon, defer, dead-letter on the receive link) fails with
   * probability `rate`, answered with `condition` (default `amqp:internal-error`). With
   * `applied: true` the broker applies it anyway (the client only sees the failure).
   */
  settlementFailure?: { rate: number; condition?: SettlementErrorCondition; applied?: boolean };
  /** A settlement is never answered with probability `rate` (applied or not, as above). */
  settlementHang?: { rate: number; applied?: boolean };
  /** A delivery waits a seeded time in [minMs, maxMs] before it is sent, with probability `rate`. */
  deliveryDelay?: { rate: number; minMs?: number; maxMs: number };
  /** Clears every fault this many milliseconds after it was set. */
  clearAfterMs?: number;
}

/** A change to the faults: keys set to `null` are cleared. */
export type ServiceBusFaultPatch = {
  [K in keyof ServiceBusFaultConfig]?: ServiceBusFaultConfig[K] | null;
};

/** How often each fault was injected since the emulator started. */
export interface FaultCounts {
  connectionsDropped: number;
  locksLost: number;
  settlementsFailed: number;
  settlementsHung: number;
  deliveriesDelayed: number;
}

export type ConnectionTarget = 'all' | 'one' | number;

/** A lock the broker forgot. */
export interface LostLock {
  queue: string;
  sequenceNumber: number;
  messageId: string | undefined;
  /** The delivery count the message has now (one more than when it was locked). */
  deliveryCount: number;
}

export interface LockSelector {
  /** Only locks on this queue (default: every queue). */
  queue?: string;
  messageId?: string;
  sequenceNumber?: number;
}

/** Runtime fault switchboard (the control endpoint uses the same object). */
export interface FaultControl {
  /** The seed of the fault generators. */
  readonly seed: number;
  /** The faults in force now. */
  get(): ServiceBusFaultConfig;
  /** Merges `faults` into the current ones (a key set to null clears it). Throws when invalid. */
  set(faults: ServiceBusFaultPatch): void;
  /** Replaces all faults. */
  replace(faults: ServiceBusFaultConfig): void;
  /** Removes every fault. */
  clear(): void;
  /** How often each fault was injected. */
  counts(): FaultCounts;
  /** Drops connections now: all, one (seeded choice) or the one with this id. Returns the ids. */
  dropConnections(target?: ConnectionTarget, how?: 'reset' | 'close'): number[];
  /** Forgets the matching locks now; the messages are redelivered with delivery count + 1. */
  loseLocks(selector?: LockSelector): LostLock[];
}

export class FaultConfigError extends Error {
  override readonly name = 'FaultConfigError';
}

const KEYS = [
  'connectionDrop',
  'lockLoss',
  'settlementFailure',
  'settlementHang',
  'deliveryDelay',
  'clearAfterMs',
] as const;

const SETTLEMENT_CONDITIONS: readonly SettlementErrorCondition[] = [
  'amqp:internal-error',
  'com.microsoft:server-busy',
  'com.microsoft:timeout',
];

/**
 * Descriptions modelled on what the service sends (seen in SDK issue reports, e.g.
 * Azure/azure-sdk-for-js#4910 for a failed dead-letter settlement).
 */
const SETTLEMENT_DESCRIPTIONS: Record<SettlementErrorCondition, string> = {
  'amqp:internal-error':
    'The service was unable to process the request; please retry the operation. For more information on exception types and proper exception handling, please refer to http://go.microsoft.com/fwlink/?LinkId=761101 (injected by the emulator)',
  'com.microsoft:server-busy':
    'The request was terminated because the entity is being throttled. Error code : 50009. Please wait 2 seconds and try again. (injected by the emulator)',
  'com.microsoft:timeout':
    'The operation did not complete within the allotted timeout. (injected by the emulator)',
};

export const FORCED_CLOSE_DESCRIPTION =
  'The connection was closed by the service (injected by the emulator).';

/** Validates untrusted input (control endpoint JSON) into a patch; null clears a key. */
export function parseFaultPatch(input: unknown): ServiceBusFaultPatch {
  const raw = object(input, 'faults');
  for (const k of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(k)) {
      throw new FaultConfigError(`unknown fault "${k}" (known: ${KEYS.join(', ')})`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === null || v === undefined) {
      out[k] = null;
      continue;
    }
    switch (k as (typeof KEYS)[number]) {
      case 'connectionDrop': {
        const o = object(v, k, ['rate', 'how']);
        const how = o.how ?? 'reset';
        if (how !== 'reset' && how !== 'close') {
          throw new FaultConfigError(`connectionDrop.how must be "reset" or "close"`);
        }
        out[k] = { rate: rate(o.rate, k), how };
        break;
      }
      case 'lockLoss': {
        const o = object(v, k, ['rate', 'afterMs']);
        const fault: { rate: number; afterMs?: number } = { rate: rate(o.rate, k) };
        if (o.afterMs !== undefined) fault.afterMs = nonNegative(o.afterMs, `${k}.afterMs`);
        out[k] = fault;
        break;
      }
      case 'settlementFailure': {
        const o = object(v, k, ['rate', 'condition', 'applied']);
        const condition = o.condition ?? 'amqp:internal-error';
        if (!SETTLEMENT_CONDITIONS.includes(condition as SettlementErrorCondition)) {
          throw new FaultConfigError(
            `settlementFailure.condition must be one of ${SETTLEMENT_CONDITIONS.join(', ')}`,
          );
        }
        out[k] = {
          rate: rate(o.rate, k),
          condition,
          applied: boolean(o.applied, `${k}.applied`),
        };
        break;
      }
      case 'settlementHang': {
        const o = object(v, k, ['rate', 'applied']);
        out[k] = { rate: rate(o.rate, k), applied: boolean(o.applied, `${k}.applied`) };
        break;
      }
      case 'deliveryDelay': {
        const o = object(v, k, ['rate', 'minMs', 'maxMs']);
        const maxMs = nonNegative(o.maxMs, `${k}.maxMs`);
        const minMs = o.minMs === undefined ? 0 : nonNegative(o.minMs, `${k}.minMs`);
        if (minMs > maxMs) throw new FaultConfigError('deliveryDelay.minMs must be <= maxMs');
        out[k] = { rate: rate(o.rate, k), minMs, maxMs };
        break;
      }
      case 'clearAfterMs':
        out[k] = nonNegative(v, k);
        break;
    }
  }
  return out as ServiceBusFaultPatch;
}

/** What a settlement fault does to one settlement. */
export type SettlementFault =
  | { kind: 'fail'; condition: string; description: string; applied: boolean }
  | { kind: 'hang'; applied: boolean };

/** Effects the fault state cannot carry out itself (the server and broker do). */
export interface FaultActions {
  dropConnections(target: ConnectionTarget, how: 'reset' | 'close', pick: SeededRandom): number[];
  loseLocks(selector: LockSelector): LostLock[];
}

export class FaultState implements FaultControl {
  private current: ServiceBusFaultConfig = {};
  private clearTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly tally: FaultCounts = {
    connectionsDropped: 0,
    locksLost: 0,
    settlementsFailed: 0,
    settlementsHung: 0,
    deliveriesDelayed: 0,
  };
  private readonly random: Record<'drop' | 'lock' | 'settlement' | 'delay' | 'pick', SeededRandom>;
  private actions: FaultActions | undefined;

  constructor(readonly seed: number) {
    this.random = {
      drop: SeededRandom.stream(seed, 'connectionDrop'),
      lock: SeededRandom.stream(seed, 'lockLoss'),
      settlement: SeededRandom.stream(seed, 'settlement'),
      delay: SeededRandom.stream(seed, 'deliveryDelay'),
      pick: SeededRandom.stream(seed, 'pick'),
    };
  }

  /** Connects the actions (the server exists after the fault state). */
  bind(actions: FaultActions): void {
    this.actions = actions;
  }

  get(): ServiceBusFaultConfig {
    return structuredClone(this.current);
  }

  set(faults: ServiceBusFaultPatch): void {
    const patch = parseFaultPatch(faults);
    const next: Record<string, unknown> = { ...this.current };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete next[k];
      else next[k] = v;
    }
    this.apply(next as ServiceBusFaultConfig);
  }

  replace(faults: ServiceBusFaultConfig): void {
    const patch = parseFaultPatch(faults);
    const next: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(patch)) if (v !== null) next[k] = v;
    this.apply(next as ServiceBusFaultConfig);
  }

  clear(): void {
    this.apply({});
  }

  counts(): FaultCounts {
    return { ...this.tally };
  }

  dropConnections(target: ConnectionTarget = 'all', how: 'reset' | 'close' = 'reset'): number[] {
    if (target !== 'all' && target !== 'one' && !Number.isInteger(target)) {
      throw new FaultConfigError('target must be "all", "one" or a connection id');
    }
    if (how !== 'reset' && how !== 'close') {
      throw new FaultConfigError('how must be "reset" or "close"');
    }
    const dropped = this.actions?.dropConnections(target, how, this.random.pick) ?? [];
    this.tally.connectionsDropped += dropped.length;
    return dropped;
  }

  loseLocks(selector: LockSelector = {}): LostLock[] {
    const lost = this.actions?.loseLocks(selector) ?? [];
    this.tally.locksLost += lost.length;
    return lost;
  }

  /** Stops every pending fault timer (emulator shutdown). */
  dispose(): void {
    if (this.clearTimer) clearTimeout(this.clearTimer);
    this.clearTimer = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ---- decisions, one per event ---------------------------------------------------------

  /** After a message event: how to drop its connection, or undefined to keep it. */
  connectionDropAfterEvent(): 'reset' | 'close' | undefined {
    const fault = this.current.connectionDrop;
    if (!fault || !this.random.drop.chance(fault.rate)) return undefined;
    this.tally.connectionsDropped++;
    return fault.how ?? 'reset';
  }

  /** For a lock just taken: after how many ms the broker forgets it, or undefined. */
  lockLossDelay(lockDurationMs: number): number | undefined {
    const fault = this.current.lockLoss;
    if (!fault || !this.random.lock.chance(fault.rate)) return undefined;
    return fault.afterMs ?? this.random.lock.between(0, Math.max(0, lockDurationMs - 1));
  }

  /** Counts a lock the broker actually forgot (it may have been settled before its time). */
  lockLost(): void {
    this.tally.locksLost++;
  }

  /** For a settlement received on a receive link: the fault to apply, or undefined. */
  settlementFault(): SettlementFault | undefined {
    const hang = this.current.settlementHang;
    if (hang && this.random.settlement.chance(hang.rate)) {
      this.tally.settlementsHung++;
      return { kind: 'hang', applied: hang.applied === true };
    }
    const failure = this.current.settlementFailure;
    if (failure && this.random.settlement.chance(failure.rate)) {
      this.tally.settlementsFailed++;
      const condition = failure.condition ?? 'amqp:internal-error';
      return {
        kind: 'fail',
        condition,
        description: SETTLEMENT_DESCRIPTIONS[condition],
        applied: failure.applied === true,
      };
    }
    return undefined;
  }

  /** For a delivery about to be sent: how long to hold it back (0 = send now). */
  deliveryDelayMs(): number {
    const fault = this.current.deliveryDelay;
    if (!fault || !this.random.delay.chance(fault.rate)) return 0;
    this.tally.deliveriesDelayed++;
    return this.random.delay.between(fault.minMs ?? 0, fault.maxMs);
  }

  /** Runs `fn` after `ms` unless the emulator stops first. */
  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private apply(next: ServiceBusFaultConfig): void {
    this.current = next;
    if (this.clearTimer) clearTimeout(this.clearTimer);
    this.clearTimer = undefined;
    if (next.clearAfterMs !== undefined) {
      this.clearTimer = setTimeout(() => {
        this.clearTimer = undefined;
        this.current = {};
      }, next.clearAfterMs);
      this.clearTimer.unref();
    }
  }
}

function object(v: unknown, name: string, allowed?: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FaultConfigError(`${name} must be a JSON object`);
  }
  const o = v as Record<string, unknown>;
  if (allowed) {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        throw new FaultConfigError(`${name}: unknown field "${k}" (known: ${allowed.join(', ')})`);
      }
    }
  }
  return o;
}

function nonNegative(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new FaultConfigError(`${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function rate(v: unknown, fault: string): number {
  const r = nonNegative(v, `${fault}.rate`);
  if (r > 1) throw new FaultConfigError(`${fault}.rate must be between 0 and 1, got ${r}`);
  return r;
}

function boolean(v: unknown, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new FaultConfigError(`${name} must be true or false`);
  return v;
}
