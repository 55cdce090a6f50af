import type { ProcessErrorArgs, ServiceBusErrorCode } from '@azure/service-bus';

import type { RenewResult } from './lock-keeper.js';
import type { HandlingOutcome, MessageOutcome } from './outcome.js';
import type { RetryWhy } from './placement.js';
import type { SettleResult } from './settle.js';
import type { WorkerState } from './worker.js';

/**
 * Which delivery an event is about: the message ID (as text, see message/message-id.ts) and
 * delivery count always; the challenge ID and pod name once the message has been prepared.
 * Every per-message log line carries these fields, so the lines of one message (and of its
 * result) can be joined.
 */
export interface Delivery {
  readonly messageId: string;
  readonly deliveryCount: number;
  readonly challengeId?: string;
  readonly pod?: string;
  /** The sender's W3C traceparent (`Diagnostic-Id`), when the message carries one. */
  readonly traceparent?: string;
}

/**
 * What the worker says happened: event name -> payload. The worker and its parts (the message
 * handler, the lock keeper) emit into one emitter and know nothing of who listens; the app
 * subscribes podbus's metrics and log lines (src/observability/). Every payload carries what
 * its listeners need, so none has to ask the worker, and nothing is passed on the side.
 */
export interface WorkerEvents {
  /** The lifecycle moved forward: initialized -> running -> draining -> stopped. */
  stateChanged: { readonly from: WorkerState; readonly to: WorkerState };
  /** The subscription is open: messages flow from here on. */
  receiving: { readonly queue: string; readonly maxConcurrentCalls: number };
  /** No message is taken while no cluster can accept a pod (backpressure); `why` says which. */
  gateClosed: { readonly why: string };
  /** A cluster can accept pods again: messages are taken again. */
  gateOpened: Record<string, never>;
  /** A delivery arrived and is handled from now on. */
  messageReceived: { readonly delivery: Delivery };
  /** How many deliveries are being handled (locked by this worker) changed. */
  inFlightChanged: { readonly inFlight: number };
  /** The message became a pod to place; `delivery` names the challenge and the pod. */
  messagePrepared: {
    readonly delivery: Delivery;
    /** The body was a JSON string holding the challenge (the sender encoded it twice). */
    readonly jsonStringBody: boolean;
  };
  /**
   * Placement failed for now and is tried again: after `delayMs`, or (no-capacity, delay 0)
   * as soon as a cluster has room.
   */
  retry: {
    readonly delivery: Delivery;
    readonly why: RetryWhy;
    readonly detail: string;
    readonly delayMs: number;
  };
  /** The message's lock was renewed, or renewing it failed (`lockLost`: for good). */
  lockRenewal: { readonly delivery: Delivery; readonly result: RenewResult };
  /** Handling the message failed with an unexpected error (a bug): it is handed back. */
  handlerFailed: { readonly delivery: Delivery; readonly error: unknown };
  /** The worker decided how to settle the delivery (placement is over); settling starts now. */
  messageDecided: { readonly delivery: Delivery; readonly outcome: HandlingOutcome };
  /** The delivery is done: what the worker decided, and what settling it did. */
  messageHandled: {
    readonly delivery: Delivery;
    readonly outcome: HandlingOutcome;
    /** 'failed': settling did not happen; the broker redelivers when the lock lapses. */
    readonly settled: SettleResult;
    /** How the message left the worker (meaningless when `settled` is 'failed'). */
    readonly left: MessageOutcome;
    /** Why settling failed or the lock was found lost, when it was. */
    readonly error?: unknown;
    /** From receipt to the end of settling. */
    readonly durationMs: number;
  };
  /** The Service Bus receiver reported an error (the SDK recovers by itself). */
  receiverError: {
    readonly source: ProcessErrorArgs['errorSource'];
    readonly code: ServiceBusErrorCode | undefined;
    readonly error: unknown;
    readonly entityPath: string;
    /** What to change when it is an authentication failure (azure/auth-failures.ts). */
    readonly fix?: string;
  };
  /** The readiness probe (a peek) failed: /readyz reports Service Bus as unreachable. */
  probeFailed: {
    readonly code: ServiceBusErrorCode | undefined;
    readonly error: unknown;
    /** What to change when it is an authentication failure (azure/auth-failures.ts). */
    readonly fix?: string;
  };
  /** A step of stop() failed or ran out of time; the worker goes on stopping without it. */
  stopStepFailed:
    | { readonly step: string; readonly timedOut: true; readonly limitMs: number }
    | { readonly step: string; readonly timedOut: false; readonly error: unknown };
  /** The shutdown grace period ended with deliveries in flight: they are left locked. */
  graceExpired: { readonly inFlight: number };
}
