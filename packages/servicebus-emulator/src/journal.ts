import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';

import type { RestoredMessage, StoredMessage } from './queue.js';

/**
 * The `--data-dir` journal: an append-only log of what changed, replayed at startup.
 *
 * Records are `[u32 body length][u32 crc32 of body][body]`, body = `[u8 kind][fields]`:
 * - ENQUEUE: a message was stored (all metadata and the bare message bytes);
 * - REMOVE: it left the queue (completed, received, expired, moved to the dead-letter queue);
 * - UPDATE: delivery count / deferral changed (optionally with a rewritten payload);
 * - CURSOR: the next sequence number of a queue (written in snapshots so numbers never repeat).
 *
 * Writes are grouped per operation: the server appends while it handles a transfer, disposition
 * or request and calls `commit()` (one `write(2)`) before it answers, so anything the client was
 * told is accepted or settled is in the file. There is no fsync per commit: a killed emulator
 * loses nothing, a power cut may lose the last writes (documented). A torn last record is
 * detected by its length/CRC and dropped. On startup, and when the log has grown to several times
 * the live data, it is rewritten as a snapshot of the live messages (write, fsync, rename).
 */

const KIND = { enqueue: 1, remove: 2, update: 3, cursor: 4 } as const;
const FILE = 'servicebus-journal.bin';
const LOCK = 'servicebus-journal.lock';
const MIN_COMPACT_BYTES = 64 * 1024 * 1024;

/** Directories locked by emulators in this process (a pid check cannot tell them apart). */
const heldInProcess = new Set<string>();

export class JournalError extends Error {
  override readonly name = 'JournalError';
}

export interface ReplayResult {
  /** Live messages per queue path, in sequence order. */
  queues: Map<string, RestoredMessage[]>;
  /** Next sequence number per queue path. */
  cursors: Map<string, number>;
  records: number;
  /** Bytes at the end of the file that did not form a complete record (dropped). */
  discardedBytes: number;
}

export interface SnapshotQueue {
  path: string;
  cursor: number;
  messages: Iterable<{ message: StoredMessage; bare: Buffer; deferred: boolean }>;
}

export class Journal {
  private fd: number | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private fileBytes = 0;
  private liveEstimate = 0;
  private readonly file: string;
  private readonly lockFile: string;

  private constructor(private readonly dir: string) {
    this.file = join(dir, FILE);
    this.lockFile = join(dir, LOCK);
  }

  /** Opens (creating) the data directory and takes its lock. */
  static open(dir: string): Journal {
    const abs = resolve(dir);
    try {
      mkdirSync(abs, { recursive: true });
    } catch (error) {
      throw new JournalError(`cannot create data directory ${abs}: ${(error as Error).message}`);
    }
    const journal = new Journal(abs);
    journal.lock();
    return journal;
  }

  /** Reads the log (tolerating a torn last record). Call once, before `rewrite`. */
  replay(): ReplayResult {
    const queues = new Map<string, Map<number, RestoredMessage>>();
    const cursors = new Map<string, number>();
    const result: ReplayResult = { queues: new Map(), cursors, records: 0, discardedBytes: 0 };
    if (!existsSync(this.file)) return result;
    const data = readFileSync(this.file);
    let offset = 0;
    const queueOf = (path: string): Map<number, RestoredMessage> => {
      let q = queues.get(path);
      if (!q) queues.set(path, (q = new Map()));
      return q;
    };
    while (offset + 8 <= data.length) {
      const length = data.readUInt32LE(offset);
      const crc = data.readUInt32LE(offset + 4);
      if (length === 0 || offset + 8 + length > data.length) break;
      const body = data.subarray(offset + 8, offset + 8 + length);
      if (crc32(body) !== crc) break;
      const r = new BodyReader(body);
      const kind = r.u8();
      const path = r.str();
      const seq = r.f64();
      if (kind === KIND.enqueue) {
        const entry: RestoredMessage = {
          seq,
          enqueuedAt: r.f64(),
          ttlMs: optionalNumber(r.f64()),
          originalSeq: r.f64(),
          scheduledAt: r.f64(),
          deliveryCount: r.u32(),
          deferred: r.u8() === 1,
          messageId: r.u8() === 1 ? r.str() : undefined,
          annotations: r.annotations(),
          bare: Buffer.from(r.rest()),
        };
        queueOf(path).set(seq, entry);
        cursors.set(path, Math.max(cursors.get(path) ?? 1, seq + 1));
      } else if (kind === KIND.remove) {
        queueOf(path).delete(seq);
      } else if (kind === KIND.update) {
        const entry = queueOf(path).get(seq);
        const deliveryCount = r.u32();
        const deferred = r.u8() === 1;
        const hasBare = r.u8() === 1;
        if (entry) {
          entry.deliveryCount = deliveryCount;
          entry.deferred = deferred;
          if (deferred) entry.scheduledAt = 0;
          if (hasBare) entry.bare = Buffer.from(r.rest());
        }
      } else if (kind === KIND.cursor) {
        cursors.set(path, Math.max(cursors.get(path) ?? 1, seq));
      } else {
        break;
      }
      result.records++;
      offset += 8 + length;
    }
    result.discardedBytes = data.length - offset;
    for (const [path, entries] of queues) {
      result.queues.set(
        path,
        [...entries.values()].sort((a, b) => a.seq - b.seq),
      );
    }
    return result;
  }

  /** Replaces the log with a snapshot of the live state and opens it for appending. */
  rewrite(snapshot: Iterable<SnapshotQueue>): void {
    this.pending = [];
    this.pendingBytes = 0;
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    let bytes = 0;
    try {
      const chunk: Buffer[] = [];
      let chunkBytes = 0;
      const flush = (): void => {
        if (chunkBytes === 0) return;
        writeFully(fd, Buffer.concat(chunk, chunkBytes));
        bytes += chunkBytes;
        chunk.length = 0;
        chunkBytes = 0;
      };
      for (const q of snapshot) {
        const cursor = frame(cursorBody(q.path, q.cursor));
        chunk.push(cursor);
        chunkBytes += cursor.length;
        for (const { message, bare, deferred } of q.messages) {
          const rec = frame(enqueueBody(q.path, message, bare, deferred));
          chunk.push(rec);
          chunkBytes += rec.length;
          if (chunkBytes > 1024 * 1024) flush();
        }
      }
      flush();
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    this.fd = openSync(this.file, 'a', 0o600);
    this.fileBytes = fstatSync(this.fd).size;
    this.liveEstimate = bytes;
  }

  appendEnqueue(path: string, message: StoredMessage, bare: Buffer): void {
    this.push(frame(enqueueBody(path, message, bare, message.deferred)));
    this.liveEstimate += bare.length + 64;
  }

  appendRemove(path: string, seq: number): void {
    const w = new BodyWriter(64);
    w.u8(KIND.remove);
    w.str(path);
    w.f64(seq);
    this.push(frame(w.done()));
  }

  appendUpdate(path: string, message: StoredMessage, bare?: Buffer): void {
    const w = new BodyWriter(64 + (bare?.length ?? 0));
    w.u8(KIND.update);
    w.str(path);
    w.f64(message.seq);
    w.u32(message.deliveryCount);
    w.u8(message.deferred ? 1 : 0);
    w.u8(bare ? 1 : 0);
    if (bare) w.bytes(bare);
    this.push(frame(w.done()));
  }

  /** Writes everything appended since the last commit. */
  commit(): void {
    if (this.pendingBytes === 0 || this.fd === undefined) return;
    const data =
      this.pending.length === 1
        ? (this.pending[0] as Buffer)
        : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    writeFully(this.fd, data);
    this.fileBytes += data.length;
  }

  /** Whether the log is big enough (versus live data) to be worth rewriting. */
  wantsCompaction(liveBytes: number): boolean {
    return (
      this.fileBytes > Math.max(MIN_COMPACT_BYTES, 4 * Math.max(liveBytes, this.liveEstimate / 4))
    );
  }

  get sizeBytes(): number {
    return this.fileBytes;
  }

  close(): void {
    try {
      this.commit();
      if (this.fd !== undefined) {
        fsyncSync(this.fd);
        closeSync(this.fd);
      }
    } finally {
      this.fd = undefined;
      heldInProcess.delete(this.dir);
      try {
        rmSync(this.lockFile, { force: true });
      } catch {
        // best effort
      }
    }
  }

  private push(record: Buffer): void {
    this.pending.push(record);
    this.pendingBytes += record.length;
  }

  private lock(): void {
    if (heldInProcess.has(this.dir)) {
      throw new JournalError(`data directory ${this.dir} is in use by another emulator`);
    }
    if (existsSync(this.lockFile)) {
      const pid = Number(readFileSync(this.lockFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new JournalError(
          `data directory ${this.dir} is in use by another emulator (pid ${pid}); stop it or remove ${this.lockFile}`,
        );
      }
    }
    writeFileSync(this.lockFile, `${process.pid}\n`, { mode: 0o600 });
    heldInProcess.add(this.dir);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + body.length);
  out.writeUInt32LE(body.length, 0);
  out.writeUInt32LE(crc32(body), 4);
  body.copy(out, 8);
  return out;
}

function enqueueBody(path: string, m: StoredMessage, bare: Buffer, deferred: boolean): Buffer {
  const annotations = m.annotations ? encodeJsonAnnotations(m.annotations) : undefined;
  const w = new BodyWriter(96 + path.length * 3 + (annotations?.length ?? 0) + bare.length);
  w.u8(KIND.enqueue);
  w.str(path);
  w.f64(m.seq);
  w.f64(m.enqueuedAt);
  w.f64(m.ttlMs ?? -1);
  w.f64(m.originalSeq);
  w.f64(m.scheduledAt);
  w.u32(m.deliveryCount);
  w.u8(deferred ? 1 : 0);
  w.u8(m.messageId === undefined ? 0 : 1);
  if (m.messageId !== undefined) w.str(m.messageId);
  w.u32(annotations?.length ?? 0);
  if (annotations) w.bytes(annotations);
  w.bytes(bare);
  return w.done();
}

function cursorBody(path: string, cursor: number): Buffer {
  const w = new BodyWriter(32 + path.length * 3);
  w.u8(KIND.cursor);
  w.str(path);
  w.f64(cursor);
  return w.done();
}

/**
 * Sender annotations are few and simple (strings, numbers, dates); they are kept as tagged JSON
 * so the journal does not depend on AMQP encoding details.
 */
function encodeJsonAnnotations(a: Record<string, unknown>): Buffer {
  return Buffer.from(
    JSON.stringify(a, function (this: Record<string, unknown>, key: string, value: unknown) {
      const v = key === '' ? value : this[key]; // before toJSON turned Dates into strings
      if (v instanceof Date) return { $date: v.getTime() };
      if (Buffer.isBuffer(v)) return { $bytes: v.toString('base64') };
      if (typeof v === 'object' && v !== null && 'type' in v && 'value' in v) {
        // a typed AMQP value: keep its plain value
        return (v as { value: unknown }).value;
      }
      return value;
    }),
    'utf8',
  );
}

function decodeJsonAnnotations(b: Buffer): Record<string, unknown> {
  return JSON.parse(b.toString('utf8'), (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null) {
      if ('$date' in v) return new Date((v as { $date: number }).$date);
      if ('$bytes' in v) return Buffer.from((v as { $bytes: string }).$bytes, 'base64');
    }
    return v;
  }) as Record<string, unknown>;
}

function optionalNumber(n: number): number | undefined {
  return n < 0 ? undefined : n;
}

function writeFully(fd: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

class BodyWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  str(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.ensure(2 + len);
    this.buf.writeUInt16LE(len, this.pos);
    this.buf.write(s, this.pos + 2, 'utf8');
    this.pos += 2 + len;
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

class BodyReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  u8(): number {
    const v = this.buf.readUInt8(this.pos);
    this.pos += 1;
    return v;
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  str(): string {
    const len = this.buf.readUInt16LE(this.pos);
    const s = this.buf.toString('utf8', this.pos + 2, this.pos + 2 + len);
    this.pos += 2 + len;
    return s;
  }

  annotations(): Record<string, unknown> | undefined {
    const len = this.u32();
    if (len === 0) return undefined;
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return decodeJsonAnnotations(b);
  }

  rest(): Buffer {
    const b = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return b;
  }
}

/** For tests: the raw journal file of a data directory. */
export function journalFilePath(dir: string): string {
  return join(resolve(dir), FILE);
}
