import {
  type ServiceBusClient,
  isServiceBusError,
  type ProcessErrorArgs,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from '@azure/service-bus';

import { serviceBusAuthFix } from '../azure/auth-failures.js';
import {
  createServiceBusClient,
  lastAttemptError,
  type ServiceBusConnection,
} from '../azure/service-bus-client.js';
import { Emitter, type EventSource } from '../shared/typed-events.js';
import type { AdmissionGate } from './admission-gate.js';
import { settleWhileLocked } from './delivery.js';
import type { Delivery, WorkerEvents } from './events.js';
import { inboundMessage } from './inbound.js';
import { LockKeeper } from './lock-keeper.js';
import { installSafeAmqpDecode } from './safe-amqp-decode.js';
import {
  deliveryOf,
  handleMessage,
  type HandlerDeps,
  type InboundMessage,
} from './message-handler.js';
import type { HandlingOutcome, MessageOutcome } from './outcome.js';
import { dispositionSettler, type SettleResult } from './settle.js';

/**
 * The worker's lifecycle. Transitions only move forward:
 *   initialized -> running -> draining -> stopped
 * `start()` is legal once, from initialized; `stop()` is idempotent.
 */
export type WorkerState = 'initialized' | 'running' | 'draining' | 'stopped';

export interface WorkerOptions {
  /** A connection string, or the namespace with an Entra ID credential. */
  connection: ServiceBusConnection;
  queueName: string;
  maxConcurrentCalls: number;
  /** How long one message's lock is kept alive at most (must exceed the retry budget). */
  maxLockRenewalMs: number;
  /**
   * How long `stop()` waits for in-flight messages (closing the subscription included); what is
   * still in flight then is left locked (see `stop`).
   */
  shutdownGraceMs: number;
  /** What handling a message needs; the worker adds where the handler reports (`events`). */
  handler: Omit<HandlerDeps, 'events'>;
  gate: AdmissionGate;
  /** How often the Service Bus connection is probed for /readyz (default 15 s). */
  probeIntervalMs?: number;
  /** How long closing the Service Bus connection may take in stop() (default 5 s). */
  closeTimeoutMs?: number;
  /**
   * Runs each delivery, from its messageReceived to its messageHandled, inside this scope
   * (tracing: the message's trace context, so that what is done for it, the SDK's own calls
   * included, belongs to its trace). Default: runs it as it is.
   */
  deliveryScope?: DeliveryScope;
}

/** Wraps the handling of one delivery; see WorkerOptions.deliveryScope. */
export type DeliveryScope = (delivery: Delivery, run: () => Promise<void>) => Promise<void>;

export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/**
 * The longest `stop()` can take: the grace period (closing the subscription and waiting for
 * in-flight messages), then closing the receiver and the connection. Every step is bounded by
 * what is left of these, so a Service Bus outage cannot stretch it.
 */
export function workerStopBudgetMs(shutdownGraceMs: number, closeTimeoutMs?: number): number {
  return shutdownGraceMs + (closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
}

interface InFlight {
  readonly message: ServiceBusReceivedMessage;
}

/**
 * Receives challenge messages and turns each into a settled delivery: handled (message-
 * handler.ts) while its lock is kept alive (lock-keeper.ts), then settled (settle.ts). What
 * happens is told on `events` (events.ts), to which the app subscribes metrics and logs.
 */
export class Worker {
  private readonly emitter = new Emitter<WorkerEvents>();
  /** Everything the worker and its parts say happened; see WorkerEvents. */
  readonly events: EventSource<WorkerEvents> = this.emitter;
  private state: WorkerState = 'initialized';
  private client: ServiceBusClient | undefined;
  private receiver: ServiceBusReceiver | undefined;
  private subscription: { close(): Promise<void> } | undefined;
  private readonly inFlight = new Set<InFlight>();
  /** Resolved when the last in-flight message is done (while draining). */
  private readonly idleWaiters = new Set<() => void>();
  /** Resolved when the worker reaches `stopped`. */
  private readonly stopWaiters = new Set<() => void>();
  /** Aborted when draining starts: waits stop and their messages go back to the queue. */
  private readonly stopWaiting = new AbortController();
  private probeTimer: NodeJS.Timeout | undefined;
  private settle: ReturnType<typeof dispositionSettler> | undefined;
  private serviceBusProblem: string | undefined = 'not connected yet';

  constructor(private readonly options: WorkerOptions) {}

  get currentState(): WorkerState {
    return this.state;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** For /readyz: undefined when receiving normally, else why not. */
  receiverProblem(): string | undefined {
    if (this.state !== 'running') return `worker is ${this.state}`;
    return this.serviceBusProblem;
  }

  async start(): Promise<void> {
    if (this.state !== 'initialized')
      throw new Error(`cannot start a worker that is ${this.state}`);
    this.setState('running');
    const { connection, queueName } = this.options;
    // Before the first connection: a hostile body must not reset the connection it arrives on.
    installSafeAmqpDecode();
    this.client = await createServiceBusClient(connection);
    this.receiver = this.client.createReceiver(queueName, {
      receiveMode: 'peekLock',
      // podbus renews locks itself (LockKeeper) so it can count renewals and stop on loss.
      maxAutoLockRenewalDurationInMs: 0,
      // The message module parses bodies itself to give precise dead-letter reasons.
      skipParsingBodyAsJson: true,
    });
    this.settle = dispositionSettler(this.receiver);
    await this.probeServiceBus();
    // Don't take messages while no cluster could accept a pod.
    await this.waitForGate();
    if (!this.isRunning()) return;
    const scope = this.options.deliveryScope;
    this.subscription = this.receiver.subscribe(
      {
        processMessage: (message) =>
          scope
            ? scope(deliveryOf(inboundMessage(message)), () => this.onMessage(message))
            : this.onMessage(message),
        processError: async (args) => this.onReceiveError(args),
      },
      { autoCompleteMessages: false, maxConcurrentCalls: this.options.maxConcurrentCalls },
    );
    this.probeTimer = setInterval(
      () => void this.probeServiceBus(),
      this.options.probeIntervalMs ?? 15_000,
    );
    this.probeTimer.unref();
    this.emitter.emit('receiving', {
      queue: queueName,
      maxConcurrentCalls: this.options.maxConcurrentCalls,
    });
  }

  /**
   * Graceful stop, within `workerStopBudgetMs`: no new messages; in-flight ones finish within
   * the grace period, or hand themselves back when they are only waiting (the waits end at
   * once). A message still in flight when the grace period ends is never handed back: its
   * create may still be on its way to the API server, and an abandon would give the message
   * to another replica at once, whose lookup could miss the pod and create a second one. It is
   * left locked instead; its lock lapses and the broker redelivers it a lock duration later,
   * when the create has landed or failed and the lookup of the redelivery sees which.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'draining') return this.waitStopped();
    if (this.state === 'initialized') {
      this.setState('stopped');
      return;
    }
    this.setState('draining');
    const graceEnds = Date.now() + this.options.shutdownGraceMs;
    if (this.probeTimer) clearInterval(this.probeTimer);
    // First stop the credit, then release the waits: a handler that hands its message back
    // returns credit, and with the subscription still open the broker would at once deliver
    // another (or the same) message to a worker that is going away.
    await this.closeStep(
      'closing the subscription',
      () => this.subscription?.close(),
      Math.min(this.closeTimeoutMs, Math.max(0, graceEnds - Date.now())),
    );
    this.stopWaiting.abort(new Error('worker is shutting down'));

    const finished = await this.waitForInFlight(Math.max(0, graceEnds - Date.now()));
    if (!finished) this.emitter.emit('graceExpired', { inFlight: this.inFlight.size });

    await this.closeStep(
      'closing the Service Bus connection',
      async () => {
        await this.receiver?.close();
        await this.client?.close();
      },
      this.closeTimeoutMs,
    );
    this.setState('stopped');
    for (const resolve of this.stopWaiters) resolve();
    this.stopWaiters.clear();
  }

  private get closeTimeoutMs(): number {
    return this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  }

  /**
   * One step of stop(), bounded: with Service Bus unreachable the SDK would spend its whole
   * operation timeout (60 s) on each close, and the pod would be killed mid-shutdown. A step
   * that fails or runs out of time is reported and skipped; the broker's lock expiry covers it.
   */
  private async closeStep(
    what: string,
    step: () => Promise<unknown> | undefined,
    limitMs: number,
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), limitMs);
    });
    try {
      const result = await Promise.race([Promise.resolve(step()), timedOut]);
      if (result === 'timeout') {
        this.emitter.emit('stopStepFailed', { step: what, timedOut: true, limitMs });
      }
    } catch (error) {
      this.emitter.emit('stopStepFailed', { step: what, timedOut: false, error });
    } finally {
      clearTimeout(timer);
    }
  }

  private isRunning(): boolean {
    return this.state === 'running';
  }

  private async onMessage(message: ServiceBusReceivedMessage): Promise<void> {
    const started = Date.now();
    const entry: InFlight = { message };
    this.inFlight.add(entry);
    const inbound = inboundMessage(message);
    const delivery = deliveryOf(inbound);
    this.emitter.emit('messageReceived', { delivery });
    this.emitter.emit('inFlightChanged', { inFlight: this.inFlight.size });

    const keeper = this.keepLock(message, delivery);
    await settleWhileLocked(
      keeper,
      () => this.decide(inbound, keeper),
      async (outcome) => {
        const decided = { ...delivery, ...identityOf(outcome) };
        this.emitter.emit('messageDecided', { delivery: decided, outcome });
        const settled = await this.settle!(message, outcome);
        this.emitter.emit('messageHandled', {
          delivery: decided,
          outcome,
          settled: settled.result,
          left: outcomeLabel(outcome, settled.result),
          ...(settled.error !== undefined && { error: settled.error }),
          durationMs: Date.now() - started,
        });
      },
    );
    this.inFlight.delete(entry);
    this.emitter.emit('inFlightChanged', { inFlight: this.inFlight.size });
    this.notifyIfIdle();

    // Backpressure: the SDK grants the next message's credit only when this returns, so
    // holding here while no cluster can take a pod keeps further messages in the queue.
    await this.waitForGate();
  }

  private decide(inbound: InboundMessage, keeper: LockKeeper): Promise<HandlingOutcome> {
    return handleMessage(
      inbound,
      { ...this.options.handler, events: this.emitter },
      {
        lockLost: keeper.lostSignal,
        confirmLock: () => keeper.confirm(),
        stopWaiting: this.stopWaiting.signal,
      },
    );
  }

  private keepLock(message: ServiceBusReceivedMessage, delivery: Delivery): LockKeeper {
    return new LockKeeper({
      renew: () => this.receiver!.renewMessageLock(message),
      isLockLost: (error) => isServiceBusError(error) && error.code === 'MessageLockLost',
      lockedUntil: message.lockedUntilUtc ?? new Date(Date.now() + 30_000),
      maxRenewalDurationMs: this.options.maxLockRenewalMs,
      reportTo: { events: this.emitter, delivery },
    });
  }

  private onReceiveError(args: ProcessErrorArgs): void {
    const code = isServiceBusError(args.error) ? args.error.code : undefined;
    const fix = serviceBusAuthFix(args.error, this.options.connection);
    if (args.errorSource === 'receive')
      this.serviceBusProblem = `receive failed: ${code ?? errorText(args.error)}${fix ? `; ${fix}` : ''}`;
    this.emitter.emit('receiverError', {
      source: args.errorSource,
      code,
      error: args.error,
      entityPath: args.entityPath,
      ...(fix !== undefined && { fix }),
    });
  }

  /** Readiness probe: a peek exercises the connection, CBS auth and the entity. */
  private async probeServiceBus(): Promise<void> {
    try {
      await this.receiver?.peekMessages(1);
      this.serviceBusProblem = undefined;
    } catch (error) {
      const last = lastAttemptError(error);
      const code = isServiceBusError(last) ? last.code : undefined;
      const fix = serviceBusAuthFix(error, this.options.connection);
      this.serviceBusProblem = `Service Bus unreachable: ${code ?? errorText(last)}${fix ? `; ${fix}` : ''}`;
      this.emitter.emit('probeFailed', { code, error, ...(fix !== undefined && { fix }) });
    }
  }

  private async waitForGate(): Promise<void> {
    const why = this.options.gate.closedBecause();
    if (why === undefined || !this.isRunning()) return;
    this.emitter.emit('gateClosed', { why });
    try {
      await this.options.gate.waitUntilOpen(this.stopWaiting.signal);
      this.emitter.emit('gateOpened', {});
    } catch {
      // Shutting down.
    }
  }

  private async waitForInFlight(timeoutMs: number): Promise<boolean> {
    if (this.inFlight.size === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.add(done);
    });
  }

  private notifyIfIdle(): void {
    if (this.inFlight.size > 0 || this.state !== 'draining') return;
    for (const resolve of this.idleWaiters) resolve();
    this.idleWaiters.clear();
  }

  private waitStopped(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    return new Promise((resolve) => this.stopWaiters.add(resolve));
  }

  private setState(next: WorkerState): void {
    const from = this.state;
    this.state = next;
    this.emitter.emit('stateChanged', { from, to: next });
  }
}

function outcomeLabel(outcome: HandlingOutcome, settled: SettleResult): MessageOutcome {
  if (settled === 'lock-lost') return 'lock_lost';
  switch (outcome.action) {
    case 'complete':
      return outcome.outcome;
    case 'dead-letter':
      return 'dead_lettered';
    case 'abandon':
      return 'abandoned';
    case 'leave-locked':
      return 'left_locked';
    case 'lock-lost':
      return 'lock_lost';
  }
}

function identityOf(outcome: HandlingOutcome): Pick<Delivery, 'challengeId' | 'pod'> {
  return {
    ...(outcome.challengeId !== undefined && { challengeId: outcome.challengeId }),
    ...(outcome.pod !== undefined && { pod: outcome.pod }),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
