import type { Delivery, Sender } from 'rhea';

import { CONDITION, outcomes } from './amqp.js';
import type { Broker, Consumer } from './broker.js';
import type { FaultState } from './faults.js';
import type { LockTokens } from './lock-token.js';
import { QueueOperationError } from './queue.js';
import { settle } from './settle.js';
import type { Queue, SettleResult } from './queue.js';

/**
 * A client's receiver link on a queue (our rhea Sender). It hands out messages strictly within
 * the link credit the client granted, answers drain requests, and turns the client's
 * dispositions into queue operations, replying with a settled disposition (the SDK waits for
 * the service to settle; specs/servicebus-amqp.md §3-§5, §10).
 */

/** rhea internals the credit accounting needs (not in its typings). */
interface SenderInternals {
  credit: number;
  delivery_count: number;
  _draining: boolean;
  _drained: boolean;
  _get_drain: () => boolean;
  session: { outgoing: { available(): number } };
}

interface DeliveryInternals {
  settled: boolean;
  remote_state?: { error?: { condition?: string; description?: string; info?: unknown } } & Record<
    string,
    unknown
  >;
}

export type OutcomeKind = 'accepted' | 'rejected' | 'released' | 'modified' | 'settled';

export const LOCK_LOST_DESCRIPTION =
  'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.';

/** The faults a link applies, and how it drops the connection it is on. */
export interface LinkFaults {
  readonly state: FaultState;
  /** Drops this link's connection (after the event being handled). */
  drop(how: 'reset' | 'close'): void;
}

export class ConsumerLink implements Consumer {
  /** Deliveries handed to rhea on this link (queued or transferred), plus drained credit. */
  private sends = 0;
  private closed = false;
  private drainRetry: NodeJS.Timeout | undefined;

  constructor(
    readonly link: Sender,
    readonly queue: Queue,
    private readonly broker: Broker,
    private readonly tokens: LockTokens,
    readonly peekLock: boolean,
    private readonly faults: LinkFaults,
  ) {
    const internals = link as unknown as SenderInternals;
    // rhea only answers a drain while credit is left. The SDK waits for the drain answer even
    // when every credit was used, so always answer, consuming what is left (AMQP 1.0 §2.6.7).
    // rhea calls this after transmitting what it could; if transfers still wait (session window
    // full), consuming their credit would strand them, so answer once they are out.
    internals._get_drain = () => {
      if (!internals._draining || !internals._drained) return false;
      if (this.sends - internals.delivery_count > 0) {
        this.retryDrain();
        return false;
      }
      const consumed = internals.credit;
      internals.delivery_count += consumed;
      internals.credit = 0;
      internals._draining = false;
      this.sends += consumed;
      return true;
    };
  }

  /** Credit not yet used by a delivery (queued deliveries count as used). */
  availableCredit(): number {
    const s = this.link as unknown as SenderInternals;
    return s.credit - (this.sends - s.delivery_count);
  }

  pump(max = Infinity): number {
    if (this.closed || !this.link.is_open()) return 0;
    const outgoing = (this.link as unknown as SenderInternals).session.outgoing;
    let credit = Math.min(this.availableCredit(), max);
    let sent = 0;
    let drop: 'reset' | 'close' | undefined;
    while (credit > 0 && outgoing.available() > 0 && drop === undefined) {
      const msg = this.peekLock ? this.queue.lockNext() : this.queue.takeNext();
      if (!msg) break;
      let bytes: Buffer;
      let tag: Buffer;
      if (this.peekLock) {
        bytes = this.queue.encode(msg);
        tag = this.tokens.toDeliveryTag(msg.lockId);
        this.scheduleLockLoss(msg.lockId);
      } else {
        bytes = this.queue.encode(msg);
        this.queue.discard(msg);
        tag = this.tokens.toDeliveryTag(this.broker.nextLockId());
      }
      this.transmit(bytes, tag);
      this.sends++;
      sent++;
      credit--;
      drop = this.faults.state.connectionDropAfterEvent();
    }
    if (!this.peekLock && sent > 0) this.broker.commit();
    if (drop !== undefined) this.faults.drop(drop);
    return sent;
  }

  /** Sends a delivery now, or after an injected delay (its credit stays taken meanwhile). */
  private transmit(bytes: Buffer, tag: Buffer): void {
    const delay = this.faults.state.deliveryDelayMs();
    if (delay === 0) {
      this.link.send(bytes, tag, 0);
      return;
    }
    this.faults.state.later(delay, () => {
      // a link gone meanwhile loses the delivery: the lock expires as for a lost transfer
      if (this.closed || !this.link.is_open()) return;
      this.link.send(bytes, tag, 0);
    });
  }

  /** An injected lock loss: the broker forgets this lock early, even if it is renewed. */
  private scheduleLockLoss(lockId: number): void {
    const state = this.faults.state;
    const after = state.lockLossDelay(this.queue.settings.lockDurationMs);
    if (after === undefined) return;
    state.later(after, () => {
      if (this.broker.forgetLock(this.queue, lockId)) state.lockLost();
    });
  }

  /** The client asked to drain: deliver what is there, then give the remaining credit back. */
  drain(): void {
    this.pump();
    this.finishDrain();
  }

  onOutcome(kind: OutcomeKind, delivery: Delivery): void {
    const d = delivery as unknown as DeliveryInternals;
    if (!this.peekLock || d.settled) return;
    const state = d.remote_state;
    if (kind === 'settled' && state !== undefined) return; // handled by its outcome event
    const lockId = this.tokens.fromDeliveryTag(delivery.tag as Buffer);
    const fault = this.faults.state.settlementFault();
    const apply = fault === undefined || fault.applied;
    let result: SettleResult = 'lock-lost';
    let reply: unknown;
    try {
      if (lockId !== undefined && apply) {
        switch (kind) {
          case 'accepted':
            result = this.queue.complete(lockId);
            reply = outcomes.accepted();
            break;
          case 'released':
          case 'settled':
            result = this.queue.release(lockId);
            reply = outcomes.released();
            break;
          case 'modified': {
            const annotations = state?.message_annotations as Record<string, unknown> | undefined;
            const defer = state?.undeliverable_here === true;
            result = defer
              ? this.queue.defer(lockId, annotations)
              : this.queue.abandon(lockId, annotations);
            reply = outcomes.modified(defer);
            break;
          }
          case 'rejected': {
            const error = state?.error;
            let reason: string | undefined;
            let description: string | undefined;
            let extra: Record<string, unknown> | undefined;
            if (error?.condition === CONDITION.deadLetter) {
              const info = { ...((error.info as Record<string, unknown> | undefined) ?? {}) };
              reason = stringOrUndefined(info.DeadLetterReason);
              description = stringOrUndefined(info.DeadLetterErrorDescription);
              delete info.DeadLetterReason;
              delete info.DeadLetterErrorDescription;
              extra = info;
            } else {
              reason = error?.condition;
              description = error?.description;
            }
            result = this.queue.deadLetter(lockId, reason, description, extra);
            reply = outcomes.rejectedWithoutError();
            break;
          }
        }
      }
      this.broker.commit();
    } catch (e) {
      if (!(e instanceof QueueOperationError)) throw e;
      settle(delivery, outcomes.rejected(e.condition, e.message));
      return;
    }
    if (fault?.kind === 'fail') {
      settle(delivery, outcomes.rejected(fault.condition, fault.description));
    } else if (fault === undefined) {
      settle(
        delivery,
        result === 'ok' ? reply : outcomes.rejected(CONDITION.lockLost, LOCK_LOST_DESCRIPTION),
      );
    } // a hung settlement is never answered; the client times out
    const drop = this.faults.state.connectionDropAfterEvent();
    if (drop !== undefined) this.faults.drop(drop);
  }

  close(): void {
    this.closed = true;
    if (this.drainRetry) clearTimeout(this.drainRetry);
    this.broker.removeConsumer(this.queue, this);
  }

  private finishDrain(): void {
    const s = this.link as unknown as SenderInternals;
    if (this.closed || !s._draining) return;
    // written after the queued transfers in rhea's next processing pass (see _get_drain)
    this.link.set_drained(true);
    (this.link.connection as unknown as { _register(): void })._register();
  }

  private retryDrain(): void {
    this.drainRetry ??= setTimeout(() => {
      this.drainRetry = undefined;
      this.finishDrain();
    }, 5);
  }
}

function stringOrUndefined(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
