import type { QueueSettings } from './config.js';
import { IndexedHeap, NOT_IN_HEAP } from './heap.js';
import {
  encodeDelivery,
  patchApplicationProperties,
  withMessageId,
  withoutBody,
} from './message-codec.js';
import type { PayloadRef, PayloadStore, Segment } from './payload-store.js';

/**
 * One Service Bus queue (or its dead-letter sub-queue) as a pure state machine: no sockets, no
 * timers, an injected clock. The server calls `processDue()` when `nextDeadline()` passes.
 *
 * Indices, each O(log n) per operation:
 * - `ready`: active messages by sequence number (Service Bus hands them out in order, and an
 *   abandoned message goes back to its original place);
 * - `locks`: locked messages by lock expiry, plus a lock-number map;
 * - `scheduled`: scheduled messages by enqueue time;
 * - `ttl`: messages by expiry;
 * - `bySeq`: every message by sequence number, in sequence order (Map insertion order).
 *
 * Delivery count semantics follow the service (specs/servicebus-amqp.md §7 and the SDK's live
 * deferred-message test): it starts at 0, grows when a lock expires, on abandon and on defer, and
 * not on dead-letter. A message is dead-lettered with `MaxDeliveryCountExceeded` once the count
 * reaches MaxDeliveryCount, i.e. after MaxDeliveryCount deliveries.
 */

export const MessageState = {
  active: 0,
  deferred: 1,
  scheduled: 2,
  locked: 3,
  removed: 4,
} as const;
export type MessageStateValue = (typeof MessageState)[keyof typeof MessageState];

/** `x-opt-message-state` values. */
const WIRE_STATE = { active: 0, deferred: 1, scheduled: 2 } as const;

/**
 * A message record is the emulator's main per-message memory cost, so it is kept small (see
 * docs, "Performance"): times are millisecond offsets from this process's start, truncated to
 * small integers while they fit (about 12 days either side), so V8 stores them unboxed; rarely
 * set fields live in one optional side object; the state and the deferral flag share a field.
 */
const TIME_BASE = Date.now();
const SMALL = 0x3fffffff;
/** Offset meaning "never" (no expiry). */
const NEVER = SMALL;

function toOffset(ms: number): number {
  const d = ms - TIME_BASE;
  return d > -SMALL && d < SMALL ? d | 0 : d;
}

interface Extras {
  ttlMs: number | undefined;
  annotations: Record<string, unknown> | undefined;
  messageId: string | undefined;
  originalSeq: number;
}

const DEFERRED_FLAG = 8;

export class StoredMessage implements PayloadRef {
  seg: Segment | null = null;
  off = 0;
  len = 0;
  deliveryCount = 0;
  lockId = 0;
  heapIndex = NOT_IN_HEAP;
  ttlIndex = NOT_IN_HEAP;
  /** State in the low bits, DEFERRED_FLAG on top. */
  private bits: number = MessageState.removed; // until a queue places it
  private enq: number;
  private exp = NEVER;
  /** Lock expiry while locked, scheduled time while scheduled (never both). */
  private due = 0;
  private extras: Extras | undefined;

  constructor(
    readonly seq: number,
    enqueuedAt: number,
    /** The TTL the sender put in the header, if any. */
    ttlMs: number | undefined,
    /** Annotations the sender set, echoed on delivery. */
    annotations: Record<string, unknown> | undefined,
    /** `x-opt-enqueue-sequence-number`: the sequence number in the queue it was first sent to. */
    originalSeq: number,
    /** Kept only where duplicate detection needs it. */
    messageId: string | undefined,
  ) {
    this.enq = toOffset(enqueuedAt);
    if (
      ttlMs !== undefined ||
      annotations !== undefined ||
      messageId !== undefined ||
      originalSeq !== seq
    ) {
      this.extras = { ttlMs, annotations, messageId, originalSeq };
    }
  }

  get state(): MessageStateValue {
    return (this.bits & 7) as MessageStateValue;
  }

  set state(s: MessageStateValue) {
    this.bits = (this.bits & DEFERRED_FLAG) | s;
  }

  /** Deferred (stays true while a deferred message is locked by receive-by-sequence-number). */
  get deferred(): boolean {
    return (this.bits & DEFERRED_FLAG) !== 0;
  }

  set deferred(d: boolean) {
    this.bits = d ? this.bits | DEFERRED_FLAG : this.bits & ~DEFERRED_FLAG;
  }

  get ttlMs(): number | undefined {
    return this.extras?.ttlMs;
  }

  get annotations(): Record<string, unknown> | undefined {
    return this.extras?.annotations;
  }

  get messageId(): string | undefined {
    return this.extras?.messageId;
  }

  get originalSeq(): number {
    return this.extras?.originalSeq ?? this.seq;
  }

  get enqueuedAt(): number {
    return this.enq + TIME_BASE;
  }

  set enqueuedAt(ms: number) {
    this.enq = toOffset(ms);
  }

  /** Epoch ms; Infinity when the message never expires. */
  get expiresAt(): number {
    return this.exp === NEVER ? Infinity : this.exp + TIME_BASE;
  }

  set expiresAt(ms: number) {
    this.exp = Number.isFinite(ms) ? toOffset(ms) : NEVER;
  }

  /** Epoch ms until which the message is locked (meaningful while locked). */
  get lockedUntil(): number {
    return this.due + TIME_BASE;
  }

  set lockedUntil(ms: number) {
    this.due = toOffset(ms);
  }

  /** Epoch ms of the scheduled enqueue time; 0 when not scheduled. */
  get scheduledAt(): number {
    return this.state === MessageState.scheduled ? this.due + TIME_BASE : 0;
  }

  set scheduledAt(ms: number) {
    this.due = ms === 0 ? 0 : toOffset(ms);
  }
}

export interface IncomingMessage {
  bare: Buffer;
  ttlMs: number | undefined;
  annotations: Record<string, unknown> | undefined;
  scheduledEnqueueTimeMs: number | undefined;
  messageId: string | undefined;
}

/** A message as the journal restores it. */
export interface RestoredMessage {
  seq: number;
  enqueuedAt: number;
  ttlMs: number | undefined;
  annotations: Record<string, unknown> | undefined;
  originalSeq: number;
  messageId: string | undefined;
  scheduledAt: number;
  deliveryCount: number;
  deferred: boolean;
  bare: Buffer;
}

export interface QueueListener {
  /** A message was stored (`bare` is its payload). */
  enqueued?(queue: Queue, message: StoredMessage, bare: Buffer): void;
  /** A message left the queue for good (completed, received-and-deleted, expired, moved). */
  removed?(queue: Queue, message: StoredMessage): void;
  /** Delivery count or deferral changed; `bare` when the payload was rewritten too. */
  updated?(queue: Queue, message: StoredMessage, bare?: Buffer): void;
  /** Messages became available to receivers. */
  available?(queue: Queue): void;
  /** The earliest deadline may have moved earlier. */
  deadlineChanged?(queue: Queue): void;
}

export interface QueueDeps {
  clock: () => number;
  payloads: PayloadStore;
  nextLockId: () => number;
  assignMessageId: () => string;
  listener?: QueueListener;
  /** Where dead-lettered messages go; undefined for a dead-letter queue itself. */
  deadLetterQueue?: Queue;
}

export type SettleResult = 'ok' | 'lock-lost';

export interface QueueCounts {
  active: number;
  locked: number;
  scheduled: number;
  deferred: number;
  total: number;
}

export class QueueOperationError extends Error {
  constructor(
    readonly condition: string,
    message: string,
  ) {
    super(message);
  }
}

export const DEAD_LETTER_REASONS = {
  maxDeliveryCount: 'MaxDeliveryCountExceeded',
  expired: 'TTLExpiredException',
} as const;

export class Queue {
  /** Canonical (lower-case) path: `orders` or `orders/$deadletterqueue`. */
  readonly path: string;
  readonly isDeadLetterQueue: boolean;
  private readonly bySeq = new Map<number, StoredMessage>();
  private readonly locks = new Map<number, StoredMessage>();
  private readonly ready = new IndexedHeap<StoredMessage>(slot((m) => m.seq));
  private readonly lockHeap = new IndexedHeap<StoredMessage>(slot((m) => m.lockedUntil));
  private readonly scheduledHeap = new IndexedHeap<StoredMessage>(slot((m) => m.scheduledAt));
  private readonly ttlHeap = new IndexedHeap<StoredMessage>({
    key: (m) => m.expiresAt,
    getIndex: (m) => m.ttlIndex,
    setIndex: (m, i) => {
      m.ttlIndex = i;
    },
  });
  private readonly duplicates = new Map<string, { seq: number; at: number }>();
  private duplicateOrder: { id: string; at: number }[] = [];
  private duplicateHead = 0;
  private nextSeq = 1;
  private readonly counts = { active: 0, locked: 0, scheduled: 0, deferred: 0 };

  constructor(
    readonly settings: QueueSettings,
    private readonly deps: QueueDeps,
    options: { deadLetter?: boolean } = {},
  ) {
    this.isDeadLetterQueue = options.deadLetter === true;
    const base = settings.name.toLowerCase();
    this.path = this.isDeadLetterQueue ? `${base}/$deadletterqueue` : base;
  }

  private get keepsMessageIds(): boolean {
    return this.settings.requiresDuplicateDetection && !this.isDeadLetterQueue;
  }

  get name(): string {
    return this.isDeadLetterQueue ? `${this.settings.name}/$DeadLetterQueue` : this.settings.name;
  }

  get deadLetterQueue(): Queue | undefined {
    return this.deps.deadLetterQueue;
  }

  setListener(listener: QueueListener | undefined): void {
    this.deps.listener = listener;
  }

  stats(): QueueCounts {
    return { ...this.counts, total: this.bySeq.size };
  }

  /** The next sequence number this queue will assign. */
  get sequenceCursor(): number {
    return this.nextSeq;
  }

  hasAvailable(): boolean {
    return this.ready.size > 0;
  }

  /**
   * Stores a sent (or scheduled) message. Returns its sequence number; a duplicate inside the
   * detection window is accepted but not stored and reports the original's number.
   */
  enqueue(input: IncomingMessage): { sequenceNumber: number; duplicate: boolean } {
    const now = this.deps.clock();
    let messageId = input.messageId;
    if (this.settings.requiresDuplicateDetection && !this.isDeadLetterQueue) {
      this.pruneDuplicates(now);
      const seen = messageId === undefined ? undefined : this.duplicates.get(messageId);
      if (seen) return { sequenceNumber: seen.seq, duplicate: true };
    }
    let bare = input.bare;
    if (messageId === undefined) {
      messageId = this.deps.assignMessageId();
      bare = withMessageId(bare, messageId);
    }
    const seq = this.nextSeq++;
    const scheduledAt = input.scheduledEnqueueTimeMs;
    const isScheduled = scheduledAt !== undefined && scheduledAt > now;
    const msg = new StoredMessage(
      seq,
      isScheduled ? scheduledAt : now,
      input.ttlMs,
      input.annotations,
      seq,
      this.keepsMessageIds ? messageId : undefined,
    );
    this.deps.payloads.put(msg, bare);
    this.bySeq.set(seq, msg);
    if (this.settings.requiresDuplicateDetection && !this.isDeadLetterQueue) {
      this.duplicates.set(messageId, { seq, at: now });
      this.duplicateOrder.push({ id: messageId, at: now });
    }
    if (isScheduled) {
      msg.scheduledAt = scheduledAt;
      this.setState(msg, MessageState.scheduled);
      this.scheduledHeap.push(msg);
    } else {
      this.activate(msg, now);
    }
    this.deps.listener?.enqueued?.(this, msg, bare);
    if (isScheduled) this.deps.listener?.deadlineChanged?.(this);
    else this.signalAvailable();
    return { sequenceNumber: seq, duplicate: false };
  }

  /** Locks the next available message for a peekLock receiver. */
  lockNext(): StoredMessage | undefined {
    const now = this.deps.clock();
    const msg = this.popReady(now);
    if (!msg) return undefined;
    this.lock(msg, now);
    return msg;
  }

  /**
   * Takes the next available message for a receiveAndDelete receiver. The caller encodes it and
   * then calls `discard`.
   */
  takeNext(): StoredMessage | undefined {
    const now = this.deps.clock();
    const msg = this.popReady(now);
    if (!msg) return undefined;
    this.detach(msg);
    return msg;
  }

  /** Releases the payload of a message handed out by `takeNext` / receiveAndDelete. */
  discard(msg: StoredMessage): void {
    this.deps.payloads.release(msg);
  }

  /** The message holding lock `lockId`, if the lock is still valid. */
  lockedMessage(lockId: number): StoredMessage | undefined {
    const msg = this.locks.get(lockId);
    if (!msg || msg.lockedUntil <= this.deps.clock()) return undefined;
    return msg;
  }

  complete(lockId: number): SettleResult {
    const msg = this.lockedMessage(lockId);
    if (!msg) return 'lock-lost';
    this.unlock(msg);
    this.detach(msg);
    this.deps.payloads.release(msg);
    return 'ok';
  }

  abandon(lockId: number, propertiesToModify?: Record<string, unknown>): SettleResult {
    const msg = this.lockedMessage(lockId);
    if (!msg) return 'lock-lost';
    this.unlock(msg);
    const bare = this.applyProperties(msg, propertiesToModify);
    msg.deliveryCount++;
    this.returnAfterLock(msg, this.deps.clock(), bare);
    return 'ok';
  }

  /** AMQP `released`: the receiver never looked at the message; no delivery is counted. */
  release(lockId: number): SettleResult {
    const msg = this.lockedMessage(lockId);
    if (!msg) return 'lock-lost';
    this.unlock(msg);
    this.returnAfterLock(msg, this.deps.clock(), undefined);
    return 'ok';
  }

  defer(lockId: number, propertiesToModify?: Record<string, unknown>): SettleResult {
    const msg = this.lockedMessage(lockId);
    if (!msg) return 'lock-lost';
    this.unlock(msg);
    const bare = this.applyProperties(msg, propertiesToModify);
    msg.deliveryCount++;
    msg.deferred = true;
    const now = this.deps.clock();
    if (msg.expiresAt <= now) {
      this.expire(msg);
      return 'ok';
    }
    this.setState(msg, MessageState.deferred);
    this.deps.listener?.updated?.(this, msg, bare);
    return 'ok';
  }

  deadLetter(
    lockId: number,
    reason: string | undefined,
    description: string | undefined,
    propertiesToModify?: Record<string, unknown>,
  ): SettleResult {
    const msg = this.lockedMessage(lockId);
    if (!msg) return 'lock-lost';
    if (!this.deps.deadLetterQueue) {
      throw new QueueOperationError(
        'amqp:not-allowed',
        'A message in a dead-letter queue cannot be dead-lettered again.',
      );
    }
    this.unlock(msg);
    this.moveToDeadLetter(msg, reason, description, propertiesToModify);
    return 'ok';
  }

  /**
   * The broker forgets a lock before it expires (fault injection): the message is handled as if
   * its lock had expired now (delivery count + 1, then redelivered or dead-lettered). Returns the
   * message, or undefined when the lock is gone already.
   */
  forgetLock(lockId: number): StoredMessage | undefined {
    const msg = this.locks.get(lockId);
    if (!msg) return undefined;
    this.unlock(msg);
    msg.deliveryCount++;
    this.returnAfterLock(msg, this.deps.clock(), undefined);
    return msg;
  }

  /** Messages locked now (expired locks not yet processed included). */
  lockedMessages(): StoredMessage[] {
    return [...this.locks.values()];
  }

  /** Extends a lock by the queue's lock duration; returns the new expiry or undefined. */
  renewLock(lockId: number): number | undefined {
    const msg = this.lockedMessage(lockId);
    if (!msg) return undefined;
    msg.lockedUntil = this.deps.clock() + this.settings.lockDurationMs;
    this.lockHeap.update(msg);
    return msg.lockedUntil;
  }

  /**
   * Receives deferred messages by sequence number (all or nothing). In peekLock mode they are
   * locked; otherwise they are taken (call `discard` after encoding).
   */
  receiveDeferred(sequenceNumbers: readonly number[], peekLock: boolean): StoredMessage[] {
    const found: StoredMessage[] = [];
    for (const seq of sequenceNumbers) {
      const msg = this.bySeq.get(seq);
      if (!msg || msg.state !== MessageState.deferred) {
        throw new QueueOperationError(
          'com.microsoft:message-not-found',
          `Failed to lock one or more specified messages. Either the message is not deferred or is locked (sequence number ${seq}).`,
        );
      }
      found.push(msg);
    }
    const now = this.deps.clock();
    for (const msg of found) {
      if (peekLock) this.lock(msg, now);
      else this.detach(msg);
    }
    return found;
  }

  /** Cancels scheduled messages; numbers that are not scheduled (any more) are ignored. */
  cancelScheduled(sequenceNumbers: readonly number[]): void {
    for (const seq of sequenceNumbers) {
      const msg = this.bySeq.get(seq);
      if (!msg || msg.state !== MessageState.scheduled) continue;
      this.detach(msg);
      this.deps.payloads.release(msg);
    }
  }

  /** Messages from `fromSeq` on in sequence order, in any state (what peek shows). */
  peek(fromSeq: number, count: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    if (count <= 0) return out;
    for (const msg of this.bySeq.values()) {
      if (msg.seq < fromSeq) continue;
      out.push(msg);
      if (out.length >= count) break;
    }
    return out;
  }

  /** Every stored message in sequence order (for journal snapshots). */
  messages(): IterableIterator<StoredMessage> {
    return this.bySeq.values();
  }

  payload(msg: StoredMessage): Buffer {
    return this.deps.payloads.get(msg);
  }

  /** The bytes to put on the wire for `msg` (header, annotations, stored bare message). */
  encode(msg: StoredMessage, options: { omitBody?: boolean } = {}): Buffer {
    const fields = {
      deliveryCount: msg.deliveryCount,
      ttlMs: this.effectiveTtl(msg),
      sequenceNumber: msg.seq,
      enqueuedTime: msg.enqueuedAt,
      enqueueSequenceNumber: msg.originalSeq,
      lockedUntil: msg.state === MessageState.locked ? msg.lockedUntil : undefined,
      state:
        msg.state === MessageState.scheduled
          ? WIRE_STATE.scheduled
          : msg.deferred
            ? WIRE_STATE.deferred
            : WIRE_STATE.active,
      senderAnnotations: msg.annotations,
    };
    if (options.omitBody) {
      const bare = withoutBody(this.deps.payloads.get(msg));
      return encodeDelivery(fields, bare.length, (target, at) => bare.copy(target, at));
    }
    return encodeDelivery(fields, msg.len, (target, at) =>
      this.deps.payloads.readInto(msg, target, at),
    );
  }

  /** Earliest time `processDue` has work (Infinity when none). */
  nextDeadline(): number {
    return Math.min(this.lockHeap.peekKey(), this.scheduledHeap.peekKey(), this.ttlHeap.peekKey());
  }

  /** Expires locks, activates scheduled messages, expires messages past their TTL. */
  processDue(): void {
    const now = this.deps.clock();
    let activated = false;
    while (this.lockHeap.peekKey() <= now) {
      const msg = this.lockHeap.pop() as StoredMessage;
      this.locks.delete(msg.lockId);
      msg.lockId = 0;
      msg.deliveryCount++;
      this.returnAfterLock(msg, now, undefined, false);
      if (msg.state === MessageState.active) activated = true;
    }
    while (this.scheduledHeap.peekKey() <= now) {
      const msg = this.scheduledHeap.pop() as StoredMessage;
      msg.enqueuedAt = now;
      msg.scheduledAt = 0;
      this.activate(msg, now);
      activated = true;
    }
    while (this.ttlHeap.peekKey() <= now) {
      const msg = this.ttlHeap.pop() as StoredMessage;
      if (msg.state === MessageState.locked) continue; // expires when its lock ends
      this.expire(msg);
    }
    if (activated) this.signalAvailable();
  }

  /** Puts a journaled message back (startup only; call in sequence order). */
  restore(entry: RestoredMessage, now: number): void {
    const msg = new StoredMessage(
      entry.seq,
      entry.enqueuedAt,
      entry.ttlMs,
      entry.annotations,
      entry.originalSeq,
      this.keepsMessageIds ? entry.messageId : undefined,
    );
    msg.deliveryCount = entry.deliveryCount;
    this.deps.payloads.put(msg, entry.bare);
    this.bySeq.set(msg.seq, msg);
    this.nextSeq = Math.max(this.nextSeq, msg.seq + 1);
    if (
      entry.messageId !== undefined &&
      this.settings.requiresDuplicateDetection &&
      !this.isDeadLetterQueue &&
      entry.enqueuedAt + this.settings.duplicateDetectionHistoryTimeWindowMs > now
    ) {
      this.duplicates.set(entry.messageId, { seq: entry.seq, at: entry.enqueuedAt });
      this.duplicateOrder.push({ id: entry.messageId, at: entry.enqueuedAt });
    }
    if (entry.scheduledAt > 0) {
      msg.scheduledAt = entry.scheduledAt;
      this.setState(msg, MessageState.scheduled);
      this.scheduledHeap.push(msg);
      return;
    }
    msg.expiresAt = this.expiryOf(msg, entry.enqueuedAt);
    if (Number.isFinite(msg.expiresAt)) this.ttlHeap.push(msg);
    if (entry.deferred) {
      msg.deferred = true;
      this.setState(msg, MessageState.deferred);
    } else {
      this.setState(msg, MessageState.active);
      this.ready.push(msg);
    }
  }

  /** Never reuse sequence numbers across restarts, even when every message is gone. */
  restoreSequenceCursor(next: number): void {
    this.nextSeq = Math.max(this.nextSeq, next);
  }

  /** Releases every payload (emulator shutdown). */
  clear(): void {
    for (const msg of this.bySeq.values()) this.deps.payloads.release(msg);
    this.bySeq.clear();
    this.locks.clear();
    this.ready.clear();
    this.lockHeap.clear();
    this.scheduledHeap.clear();
    this.ttlHeap.clear();
    this.counts.active = this.counts.locked = this.counts.scheduled = this.counts.deferred = 0;
  }

  // ---- internals -------------------------------------------------------------------------

  /** Receives a dead-lettered message from the queue this is the dead-letter queue of. */
  private acceptDeadLettered(source: StoredMessage, bare: Buffer): void {
    const seq = this.nextSeq++;
    const msg = new StoredMessage(
      seq,
      source.enqueuedAt,
      source.ttlMs,
      source.annotations,
      source.originalSeq,
      undefined,
    );
    msg.deliveryCount = source.deliveryCount;
    this.deps.payloads.put(msg, bare);
    this.bySeq.set(seq, msg);
    this.activate(msg, this.deps.clock());
    this.deps.listener?.enqueued?.(this, msg, bare);
    this.signalAvailable();
  }

  private moveToDeadLetter(
    msg: StoredMessage,
    reason: string | undefined,
    description: string | undefined,
    propertiesToModify?: Record<string, unknown>,
  ): void {
    const dlq = this.deps.deadLetterQueue as Queue;
    const patch: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(propertiesToModify ?? {})) {
      if (v !== undefined && v !== null) patch[k] = v;
    }
    if (reason !== undefined && reason !== null) patch.DeadLetterReason = reason;
    if (description !== undefined && description !== null) {
      patch.DeadLetterErrorDescription = description;
    }
    const bare = patchApplicationProperties(this.deps.payloads.get(msg), patch);
    dlq.acceptDeadLettered(msg, bare);
    this.detach(msg);
    this.deps.payloads.release(msg);
  }

  private applyProperties(
    msg: StoredMessage,
    propertiesToModify: Record<string, unknown> | undefined,
  ): Buffer | undefined {
    if (!propertiesToModify || Object.keys(propertiesToModify).length === 0) return undefined;
    const bare = patchApplicationProperties(this.deps.payloads.get(msg), propertiesToModify);
    this.deps.payloads.put(msg, bare);
    return bare;
  }

  /** After a lock ends without completion: back to deferred/active, or expire / dead-letter. */
  private returnAfterLock(
    msg: StoredMessage,
    now: number,
    bare: Buffer | undefined,
    signal = true,
  ): void {
    if (msg.expiresAt <= now) {
      this.expire(msg);
      return;
    }
    if (msg.deferred) {
      this.setState(msg, MessageState.deferred);
      this.deps.listener?.updated?.(this, msg, bare);
      return;
    }
    if (
      !this.isDeadLetterQueue &&
      this.deps.deadLetterQueue &&
      msg.deliveryCount >= this.settings.maxDeliveryCount
    ) {
      this.moveToDeadLetter(
        msg,
        DEAD_LETTER_REASONS.maxDeliveryCount,
        `Message could not be consumed after ${this.settings.maxDeliveryCount} delivery attempts.`,
      );
      return;
    }
    this.setState(msg, MessageState.active);
    this.ready.push(msg);
    this.deps.listener?.updated?.(this, msg, bare);
    if (signal) this.signalAvailable();
  }

  private expire(msg: StoredMessage): void {
    if (
      this.settings.deadLetteringOnMessageExpiration &&
      !this.isDeadLetterQueue &&
      this.deps.deadLetterQueue
    ) {
      this.moveToDeadLetter(
        msg,
        DEAD_LETTER_REASONS.expired,
        'The message expired and was dead lettered.',
      );
      return;
    }
    this.detach(msg);
    this.deps.payloads.release(msg);
  }

  private popReady(now: number): StoredMessage | undefined {
    for (;;) {
      const msg = this.ready.pop();
      if (!msg) return undefined;
      if (msg.expiresAt > now) return msg;
      this.expire(msg); // past its TTL but the timer has not fired yet
    }
  }

  private lock(msg: StoredMessage, now: number): void {
    msg.lockId = this.deps.nextLockId();
    msg.lockedUntil = now + this.settings.lockDurationMs;
    this.setState(msg, MessageState.locked);
    this.locks.set(msg.lockId, msg);
    this.lockHeap.push(msg);
    this.deps.listener?.deadlineChanged?.(this);
  }

  private unlock(msg: StoredMessage): void {
    this.locks.delete(msg.lockId);
    this.lockHeap.remove(msg);
    msg.lockId = 0;
  }

  private activate(msg: StoredMessage, now: number): void {
    msg.expiresAt = this.expiryOf(msg, now);
    this.setState(msg, MessageState.active);
    this.ready.push(msg);
    if (Number.isFinite(msg.expiresAt)) {
      this.ttlHeap.push(msg);
      this.deps.listener?.deadlineChanged?.(this);
    }
  }

  /** Removes a message from every index (its payload is released by the caller). */
  private detach(msg: StoredMessage): void {
    switch (msg.state) {
      case MessageState.active:
        this.ready.remove(msg);
        break;
      case MessageState.scheduled:
        this.scheduledHeap.remove(msg);
        break;
      case MessageState.locked:
        this.unlock(msg);
        break;
      default:
        break;
    }
    this.ttlHeap.remove(msg);
    this.setState(msg, MessageState.removed);
    this.bySeq.delete(msg.seq);
    this.deps.listener?.removed?.(this, msg);
  }

  private setState(msg: StoredMessage, next: MessageStateValue): void {
    const counts = this.counts;
    switch (msg.state) {
      case MessageState.active:
        counts.active--;
        break;
      case MessageState.locked:
        counts.locked--;
        break;
      case MessageState.scheduled:
        counts.scheduled--;
        break;
      case MessageState.deferred:
        counts.deferred--;
        break;
      default:
        break;
    }
    switch (next) {
      case MessageState.active:
        counts.active++;
        break;
      case MessageState.locked:
        counts.locked++;
        break;
      case MessageState.scheduled:
        counts.scheduled++;
        break;
      case MessageState.deferred:
        counts.deferred++;
        break;
      default:
        break;
    }
    msg.state = next;
  }

  private effectiveTtl(msg: StoredMessage): number | undefined {
    if (this.isDeadLetterQueue) return msg.ttlMs;
    const ttl = Math.min(msg.ttlMs ?? Infinity, this.settings.defaultMessageTimeToLiveMs);
    return Number.isFinite(ttl) ? ttl : undefined;
  }

  private expiryOf(msg: StoredMessage, from: number): number {
    if (this.isDeadLetterQueue) return Infinity;
    const ttl = this.effectiveTtl(msg);
    return ttl === undefined ? Infinity : from + ttl;
  }

  private signalAvailable(): void {
    this.deps.listener?.available?.(this);
  }

  private pruneDuplicates(now: number): void {
    const window = this.settings.duplicateDetectionHistoryTimeWindowMs;
    const order = this.duplicateOrder;
    while (this.duplicateHead < order.length) {
      const head = order[this.duplicateHead] as { id: string; at: number };
      if (head.at + window > now) break;
      const current = this.duplicates.get(head.id);
      if (current && current.at === head.at) this.duplicates.delete(head.id);
      this.duplicateHead++;
    }
    if (this.duplicateHead > 1024 && this.duplicateHead * 2 > order.length) {
      this.duplicateOrder = order.slice(this.duplicateHead);
      this.duplicateHead = 0;
    }
  }
}

function slot(key: (m: StoredMessage) => number) {
  return {
    key,
    getIndex: (m: StoredMessage) => m.heapIndex,
    setIndex: (m: StoredMessage, i: number) => {
      m.heapIndex = i;
    },
  };
}
