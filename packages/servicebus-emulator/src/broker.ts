import { randomUUID } from 'node:crypto';

import type { EmulatorSettings, QueueSettings } from './config.js';
import type { LockSelector, LostLock } from './faults.js';
import { Journal } from './journal.js';
import { IdleMemoryReducer } from './memory-reducer.js';
import { applicationPropertyStrings, bareMessageId } from './message-codec.js';
import type { SnapshotQueue } from './journal.js';
import { PayloadStore } from './payload-store.js';
import { Queue } from './queue.js';
import type { QueueListener, StoredMessage } from './queue.js';

/** Something that takes messages from a queue when they become available (a receiver link). */
export interface Consumer {
  /** Takes up to `max` messages (within its credit); returns how many it took. */
  pump(max?: number): number;
}

export interface BrokerLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface BrokerOptions {
  settings: EmulatorSettings;
  dataDir?: string;
  logger: BrokerLogger;
  payloadMemoryBytes?: number;
  /** Run a memory-reducing GC after bursts (process-wide side effect; see memory-reducer.ts). */
  reduceMemoryWhenIdle?: boolean;
  clock?: () => number;
}

export interface QueueInspection {
  active: number;
  locked: number;
  scheduled: number;
  deferred: number;
  deadLettered: number;
}

/** A dead-lettered message as a harness counts it. */
export interface DeadLetterInfo {
  sequenceNumber: number;
  messageId: string | undefined;
  /** `DeadLetterReason` (undefined when the client gave none). */
  reason: string | undefined;
  description: string | undefined;
  deliveryCount: number;
  /** ISO-8601 time the message was first enqueued. */
  enqueuedTimeUtc: string;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const DEAD_LETTER_KEYS = ['DeadLetterReason', 'DeadLetterErrorDescription'] as const;

/**
 * The namespace: every queue with its dead-letter queue, the shared payload store, the optional
 * journal, a single timer for all deadlines, and the receivers waiting on each queue.
 */
export class Broker {
  private readonly queues = new Map<string, Queue>();
  private readonly mainQueues: Queue[] = [];
  private readonly consumers = new Map<Queue, Set<Consumer>>();
  private readonly payloads: PayloadStore;
  private readonly journal: Journal | undefined;
  private readonly clock: () => number;
  private readonly logger: BrokerLogger;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private lockCounter = 0;
  private pumping = new Set<Queue>();
  private repump = new Set<Queue>();
  private closed = false;
  private readonly memoryReducer: IdleMemoryReducer | undefined;

  constructor(options: BrokerOptions) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger;
    this.payloads = new PayloadStore(
      options.payloadMemoryBytes === undefined
        ? {}
        : { memoryBudgetBytes: options.payloadMemoryBytes },
    );
    try {
      this.journal = options.dataDir === undefined ? undefined : Journal.open(options.dataDir);
      for (const settings of options.settings.queues) this.addQueue(settings);
      if (this.journal) this.recover(this.journal);
    } catch (error) {
      this.journal?.close();
      this.payloads.close();
      throw error;
    }
    const listener = this.listener();
    for (const q of this.queues.values()) q.setListener(listener);
    this.memoryReducer = options.reduceMemoryWhenIdle ? new IdleMemoryReducer() : undefined;
    this.rearm();
  }

  /** Queue names as configured (not including dead-letter queues). */
  get queueNames(): string[] {
    return this.mainQueues.map((q) => q.settings.name);
  }

  /** A queue or dead-letter queue by canonical path (`orders`, `orders/$deadletterqueue`). */
  resolve(path: string): Queue | undefined {
    return this.queues.get(path.toLowerCase());
  }

  inspect(name: string): QueueInspection {
    const q = this.mainQueue(name);
    const s = q.stats();
    const dlq = q.deadLetterQueue?.stats();
    return {
      active: s.active,
      locked: s.locked,
      scheduled: s.scheduled,
      deferred: s.deferred,
      deadLettered: dlq?.total ?? 0,
    };
  }

  /** The messages of a queue's dead-letter queue, in sequence order (at most `limit`). */
  deadLetters(name: string, limit = Infinity): DeadLetterInfo[] {
    const dlq = this.mainQueue(name).deadLetterQueue as Queue;
    const out: DeadLetterInfo[] = [];
    for (const message of dlq.messages()) {
      if (out.length >= limit) break;
      const bare = dlq.payload(message);
      const props = applicationPropertyStrings(bare, DEAD_LETTER_KEYS);
      out.push({
        sequenceNumber: message.seq,
        messageId: bareMessageId(bare),
        reason: props.DeadLetterReason,
        description: props.DeadLetterErrorDescription,
        deliveryCount: message.deliveryCount,
        enqueuedTimeUtc: new Date(message.enqueuedAt).toISOString(),
      });
    }
    return out;
  }

  /** Dead-lettered messages of a queue counted by `DeadLetterReason` (`(none)` when unset). */
  deadLetterReasons(name: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { reason } of this.deadLetters(name)) {
      const key = reason ?? '(none)';
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Forgets the matching locks now (fault injection); see Queue.forgetLock. */
  loseLocks(selector: LockSelector): LostLock[] {
    const queues = selector.queue === undefined ? [...this.queues.values()] : [];
    if (selector.queue !== undefined) {
      const q = this.resolve(selector.queue);
      if (!q) throw new Error(`no queue named '${selector.queue}'`);
      queues.push(q);
    }
    const lost: LostLock[] = [];
    for (const q of queues) {
      for (const message of q.lockedMessages()) {
        if (selector.sequenceNumber !== undefined && message.seq !== selector.sequenceNumber) {
          continue;
        }
        const messageId = message.messageId ?? bareMessageId(q.payload(message));
        if (selector.messageId !== undefined && messageId !== selector.messageId) continue;
        const forgotten = q.forgetLock(message.lockId);
        if (!forgotten) continue;
        lost.push({
          queue: q.name,
          sequenceNumber: forgotten.seq,
          messageId,
          deliveryCount: forgotten.deliveryCount,
        });
      }
    }
    this.commit();
    return lost;
  }

  /** Forgets one lock if it is still held (a scheduled lock-loss fault); true when it was. */
  forgetLock(queue: Queue, lockId: number): boolean {
    if (this.closed || !queue.forgetLock(lockId)) return false;
    this.commit();
    return true;
  }

  nextLockId(): number {
    return ++this.lockCounter;
  }

  addConsumer(queue: Queue, consumer: Consumer): void {
    let set = this.consumers.get(queue);
    if (!set) this.consumers.set(queue, (set = new Set()));
    set.add(consumer);
  }

  removeConsumer(queue: Queue, consumer: Consumer): void {
    this.consumers.get(queue)?.delete(consumer);
  }

  /** Makes everything appended to the journal durable before the client is answered. */
  commit(): void {
    this.memoryReducer?.touch();
    if (!this.journal) return;
    this.journal.commit();
    if (this.journal.wantsCompaction(this.payloads.stats().liveBytes)) this.compact();
  }

  /**
   * Lets the receivers on `queue` take what they have credit for, one message each in turn, so
   * competing receivers (podbus replicas) share a burst instead of the first one taking it all.
   */
  pump(queue: Queue): void {
    if (this.pumping.has(queue)) {
      this.repump.add(queue);
      return;
    }
    const set = this.consumers.get(queue);
    if (!set || set.size === 0) return;
    this.pumping.add(queue);
    try {
      do {
        this.repump.delete(queue);
        let took = 1;
        while (took > 0 && queue.hasAvailable()) {
          took = 0;
          for (const consumer of [...set]) {
            if (!queue.hasAvailable()) break;
            if (consumer.pump(1) > 0) {
              took++;
              set.delete(consumer); // next burst starts with somebody else
              set.add(consumer);
            }
          }
        }
      } while (this.repump.has(queue) && queue.hasAvailable());
    } finally {
      this.pumping.delete(queue);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.memoryReducer?.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      this.journal?.close();
    } finally {
      for (const q of this.queues.values()) q.clear();
      this.payloads.close();
    }
  }

  payloadStats(): ReturnType<PayloadStore['stats']> {
    return this.payloads.stats();
  }

  private mainQueue(name: string): Queue {
    const q = this.resolve(name);
    if (!q || q.isDeadLetterQueue) throw new Error(`no queue named '${name}'`);
    return q;
  }

  private addQueue(settings: QueueSettings): void {
    const deps = {
      clock: this.clock,
      payloads: this.payloads,
      nextLockId: () => this.nextLockId(),
      assignMessageId: () => randomUUID().replace(/-/g, ''),
    };
    const dlq = new Queue(settings, { ...deps }, { deadLetter: true });
    const queue = new Queue(settings, { ...deps, deadLetterQueue: dlq });
    this.queues.set(queue.path, queue);
    this.queues.set(dlq.path, dlq);
    this.mainQueues.push(queue);
  }

  private listener(): QueueListener {
    const journal = this.journal;
    return {
      enqueued: journal ? (q, m, bare) => journal.appendEnqueue(q.path, m, bare) : undefined,
      removed: journal ? (q, m) => journal.appendRemove(q.path, m.seq) : undefined,
      updated: journal ? (q, m, bare) => journal.appendUpdate(q.path, m, bare) : undefined,
      available: (q) => this.pump(q),
      deadlineChanged: (q) => this.rearm(q.nextDeadline()),
    };
  }

  private recover(journal: Journal): void {
    const replay = journal.replay();
    const now = this.clock();
    let restored = 0;
    for (const [path, entries] of replay.queues) {
      const q = this.queues.get(path);
      if (!q) {
        if (entries.length > 0) {
          this.logger.warn(
            `journal: ${entries.length} message(s) of '${path}', which is no longer configured, are dropped`,
          );
        }
        continue;
      }
      for (const entry of entries) q.restore(entry, now);
      restored += entries.length;
    }
    for (const [path, cursor] of replay.cursors)
      this.queues.get(path)?.restoreSequenceCursor(cursor);
    if (replay.discardedBytes > 0) {
      this.logger.warn(
        `journal: dropped ${replay.discardedBytes} byte(s) of an incomplete last record`,
      );
    }
    this.compact();
    if (restored > 0) this.logger.info(`journal: restored ${restored} message(s)`);
  }

  private compact(): void {
    if (!this.journal) return;
    const snapshot: SnapshotQueue[] = [...this.queues.values()].map((q) => ({
      path: q.path,
      cursor: q.sequenceCursor,
      messages: messagesOf(q),
    }));
    this.journal.rewrite(snapshot);
  }

  private rearm(candidate?: number): void {
    if (this.closed) return;
    let next = candidate;
    if (next === undefined) {
      next = Infinity;
      for (const q of this.queues.values()) next = Math.min(next, q.nextDeadline());
    }
    if (next >= this.armedAt || !Number.isFinite(next)) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = next;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.clock()));
    this.timer = setTimeout(() => this.onTimer(), delay);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    if (this.closed) return;
    const now = this.clock();
    try {
      for (const q of this.queues.values()) {
        if (q.nextDeadline() <= now) q.processDue();
      }
      this.commit();
    } catch (error) {
      this.logger.error('servicebus emulator: deadline processing failed', error);
    }
    this.rearm();
  }
}

function* messagesOf(
  q: Queue,
): Generator<{ message: StoredMessage; bare: Buffer; deferred: boolean }> {
  for (const message of q.messages()) {
    yield { message, bare: q.payload(message), deferred: message.deferred };
  }
}
