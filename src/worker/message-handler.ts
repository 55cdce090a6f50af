import type { V1Pod } from '@kubernetes/client-node';

import type { EventSink } from '../shared/typed-events.js';
import type { Delivery, WorkerEvents } from './events.js';
import type { Fleet } from './fleet.js';
import type { DeadLetterReason, HandlingOutcome, PreparedIdentity } from './outcome.js';
import { PodPlacement, type PlacementResult } from './placement.js';

/** The parts of a received message the handler reads (a ServiceBusReceivedMessage has them). */
export interface InboundMessage {
  readonly messageId: string;
  readonly body: unknown;
  readonly deliveryCount: number;
  readonly contentType?: string;
  /** The AMQP body section the SDK read the body from. */
  readonly bodyType?: 'data' | 'sequence' | 'value';
  /** As the sender set it: prepare decides whether results may go there. */
  readonly replyTo?: string;
  /** The sender's W3C trace context, when it sent one (message/trace-context.ts). */
  readonly traceparent?: string;
}

/** Which delivery a message is, for events: logs, metrics and traces join on it. */
export function deliveryOf(message: InboundMessage): Delivery {
  return {
    messageId: message.messageId,
    deliveryCount: message.deliveryCount,
    ...(message.traceparent !== undefined && { traceparent: message.traceparent }),
  };
}

/** Message -> pod, or the reason it can never become one. Pure; see prepare.ts. */
export type Prepared =
  | {
      ok: true;
      pod: V1Pod;
      requestHash: string;
      challengeId: string;
      preferredCluster?: string;
      /** The body was a JSON string holding the challenge (the sender encoded it twice). */
      jsonStringBody?: true;
    }
  | { ok: false; reason: DeadLetterReason; description: string };

export interface HandlerDeps {
  prepare(message: InboundMessage): Prepared;
  fleet: Fleet;
  /**
   * True when the selection strategy always maps a message ID to the same first cluster
   * (`hash`): a first delivery can then rely on that cluster's 409 instead of a lookup.
   */
  stickyPlacement: boolean;
  /** Delay before retry `attempt` (0-based), honouring a server's Retry-After. */
  retryDelayMs(attempt: number, retryAfterMs: number | undefined): number;
  /** How long one delivery may keep retrying transient failures before it is abandoned. */
  retryBudgetMs: number;
  /**
   * How long one delivery may be held in all (failures and capacity waits alike); keep it
   * inside the lock-renewal limit so the message is handed back while its lock still holds.
   */
  maxHoldMs: number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
  /** Where the handler says what happened to the message (the worker's events). */
  events: EventSink<Pick<WorkerEvents, 'messagePrepared' | 'retry' | 'handlerFailed'>>;
}

export interface HandlerSignals {
  /** Aborted when the message lock is lost: stop before any further create. */
  lockLost: AbortSignal;
  /** Renews the lock now (before a failover create); `lockLost` fires when it is gone. */
  confirmLock?: () => Promise<void>;
  /** Aborted when the worker starts shutting down: stop waiting, hand the message back. */
  stopWaiting: AbortSignal;
}

/**
 * Handles one delivery: prepare the pod, place it (retrying transient failures with backoff
 * while the lock is kept alive), and say how to settle. Nothing a message body contains makes
 * it throw (prepare turns bad input into a dead-letter outcome), and neither does a bug: the
 * message is then handed back. The outcome names the challenge and the pod once known.
 */
export async function handleMessage(
  message: InboundMessage,
  deps: HandlerDeps,
  signals: HandlerSignals,
): Promise<HandlingOutcome> {
  const delivery = deliveryOf(message);
  let identity: PreparedIdentity = {};
  try {
    const prepared = deps.prepare(message);
    if (!prepared.ok) {
      return { action: 'dead-letter', reason: prepared.reason, description: prepared.description };
    }
    identity = {
      challengeId: prepared.challengeId,
      ...(prepared.pod.metadata?.name !== undefined && { pod: prepared.pod.metadata.name }),
    };
    const known = { ...delivery, ...identity };
    deps.events.emit('messagePrepared', {
      delivery: known,
      jsonStringBody: prepared.jsonStringBody === true,
    });
    const outcome = await place(message, prepared, deps, signals, known);
    return { ...outcome, ...identity };
  } catch (error) {
    // A bug, not a message problem: hand the message back rather than crash or lose it.
    deps.events.emit('handlerFailed', { delivery, error });
    return {
      action: 'abandon',
      why: `unexpected error: ${error instanceof Error ? error.message : String(error)}`,
      ...identity,
    };
  }
}

/** Places a prepared message's pod: attempts, waits and retries until a settlement is known. */
async function place(
  message: InboundMessage,
  prepared: Extract<Prepared, { ok: true }>,
  deps: HandlerDeps,
  signals: HandlerSignals,
  delivery: Delivery,
): Promise<HandlingOutcome> {
  const retrying = (result: Extract<PlacementResult, { kind: 'retry' }>, delayMs: number) =>
    deps.events.emit('retry', { delivery, why: result.why, detail: result.detail, delayMs });
  // Time spent waiting for capacity, or for a cluster's rate limit to let a call go, is not a
  // failure: it does not count against the retry budget (it does against maxHoldMs).
  let capacityWaitMs = 0;
  let rateLimitWaitMs = 0;
  const placement = new PodPlacement(deps.fleet, {
    pod: prepared.pod,
    messageId: message.messageId,
    requestHash: prepared.requestHash,
    preferredCluster: prepared.preferredCluster,
    lookup: message.deliveryCount > 0 ? 'strict' : deps.stickyPlacement ? 'none' : 'best-effort',
    onRateLimitWait: (waitedMs) => (rateLimitWaitMs += waitedMs),
  });
  const started = deps.now();

  const stop = AbortSignal.any([signals.lockLost, signals.stopWaiting]);
  for (let attempt = 0; ; attempt += 1) {
    if (signals.lockLost.aborted) return lockLost(signals.lockLost);
    const result = await placement.attempt({
      create: signals.lockLost,
      read: stop,
      confirmLock: signals.confirmLock,
    });
    switch (result.kind) {
      case 'created':
      case 'duplicate':
        return { action: 'complete', outcome: result.kind, cluster: result.cluster };
      case 'conflict':
        return {
          action: 'dead-letter',
          reason: 'MessageIdConflict',
          description: result.description,
          cluster: result.cluster,
        };
      case 'rejected':
        return {
          action: 'dead-letter',
          reason: 'PodRejected',
          description: `cluster ${result.cluster} rejected the pod: ${result.description}`,
          cluster: result.cluster,
        };
      case 'retry': {
        if (signals.lockLost.aborted) return lockLost(signals.lockLost);
        if (signals.stopWaiting.aborted) return shuttingDown(result, placement);
        const heldMs = deps.now() - started;
        if (result.why === 'no-capacity') {
          // Every cluster is full. Wait for a pod to finish (event-driven), for as long as
          // the lock can be kept; then hand the message back.
          if (heldMs >= deps.maxHoldMs) {
            return {
              action: 'abandon',
              why: `held ${heldMs} ms waiting for capacity: ${result.detail}`,
            };
          }
          retrying(result, 0);
          const waitStarted = deps.now();
          try {
            const timeout = AbortSignal.timeout(deps.maxHoldMs - heldMs);
            await deps.fleet.waitForCapacity(AbortSignal.any([stop, timeout]));
          } catch {
            if (signals.lockLost.aborted) return lockLost(signals.lockLost);
            if (signals.stopWaiting.aborted) return shuttingDown(result, placement);
          } finally {
            capacityWaitMs += deps.now() - waitStarted;
          }
          continue;
        }
        const delayMs = deps.retryDelayMs(attempt, result.retryAfterMs);
        const failingMs = heldMs - capacityWaitMs - rateLimitWaitMs;
        if (failingMs + delayMs > deps.retryBudgetMs || heldMs + delayMs > deps.maxHoldMs) {
          return {
            action: 'abandon',
            why: `retry budget of ${deps.retryBudgetMs} ms spent (${result.why}): ${result.detail}`,
          };
        }
        retrying(result, delayMs);
        try {
          await deps.sleep(delayMs, stop);
        } catch {
          if (signals.lockLost.aborted) return lockLost(signals.lockLost);
          return shuttingDown(result, placement);
        }
      }
    }
  }
}

function shuttingDown(
  result: Extract<PlacementResult, { kind: 'retry' }>,
  placement: PodPlacement,
): HandlingOutcome {
  const why = `shutting down while waiting (${result.why}): ${result.detail}`;
  // A create on the pinned cluster may still land: a redelivery now could miss it.
  if (placement.pinnedCluster !== undefined) return { action: 'leave-locked', why };
  return { action: 'abandon', why };
}

function lockLost(signal: AbortSignal): HandlingOutcome {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  return { action: 'lock-lost', why: reason };
}
