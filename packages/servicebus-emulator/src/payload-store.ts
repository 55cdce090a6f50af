import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where message bytes live. Payloads are appended into large segments instead of one Buffer per
 * message (a per-message Buffer costs ~100 bytes of bookkeeping and pins pooled memory). Once the
 * in-memory segments reach `memoryBudgetBytes`, new segments go to anonymous temporary files
 * (opened then unlinked, so nothing is left behind even after a crash) and are read back with
 * `pread` on delivery. A segment is dropped as soon as no live message references it, which for
 * queue-shaped traffic (first in, first out) frees memory and disk in order.
 *
 * This is a cache layout, not durability: durability is the journal's job (journal.ts).
 */
export interface PayloadRef {
  seg: Segment | null;
  off: number;
  len: number;
}

export interface Segment {
  readonly id: number;
  readonly kind: 'memory' | 'disk';
  readonly capacity: number;
  used: number;
  live: number;
  buf: Buffer | undefined;
  fd: number | undefined;
  path: string | undefined;
  /** Disk segments: bytes [flushed, used) are still in `pending`. */
  flushed: number;
  pending: Buffer | undefined;
}

export interface PayloadStoreOptions {
  /** Bytes of message payload kept in memory before spilling to temporary files. */
  memoryBudgetBytes?: number;
  memorySegmentBytes?: number;
  diskSegmentBytes?: number;
  spillDirectory?: string;
}

export interface PayloadStoreStats {
  memoryBytes: number;
  diskBytes: number;
  segments: number;
  liveBytes: number;
}

const DEFAULTS = {
  memoryBudgetBytes: 4 * 1024 * 1024,
  memorySegmentBytes: 1024 * 1024,
  diskSegmentBytes: 16 * 1024 * 1024,
};
const WRITE_BUFFER_BYTES = 256 * 1024;

export class PayloadStore {
  private readonly budget: number;
  private readonly memorySegmentBytes: number;
  private readonly diskSegmentBytes: number;
  private readonly spillDirectory: string;
  private readonly segments = new Set<Segment>();
  /**
   * Buffers of dropped memory segments, kept for the next segment: allocating and freeing
   * megabyte blocks makes glibc raise its mmap threshold and fragment its heap, which keeps the
   * process's resident size high long after the messages are gone.
   */
  private readonly spareBuffers: Buffer[] = [];
  /** The one write buffer, lent to whichever disk segment is current (allocated once). */
  private writeBuffer: Buffer | undefined;
  private current: Segment | undefined;
  private nextId = 1;
  private memoryBytes = 0;
  private diskBytes = 0;
  private liveBytes = 0;
  private closed = false;

  constructor(options: PayloadStoreOptions = {}) {
    this.budget = options.memoryBudgetBytes ?? DEFAULTS.memoryBudgetBytes;
    this.memorySegmentBytes = options.memorySegmentBytes ?? DEFAULTS.memorySegmentBytes;
    this.diskSegmentBytes = options.diskSegmentBytes ?? DEFAULTS.diskSegmentBytes;
    this.spillDirectory = options.spillDirectory ?? tmpdir();
  }

  /** Copies `data` into the store and points `ref` at it (releasing what `ref` held before). */
  put(ref: PayloadRef, data: Buffer): void {
    if (this.closed) throw new Error('payload store is closed');
    if (ref.seg) this.release(ref);
    const seg = this.segmentFor(data.length);
    const off = seg.used;
    if (seg.kind === 'memory') {
      data.copy(seg.buf as Buffer, off);
    } else {
      this.appendToDisk(seg, data);
    }
    seg.used += data.length;
    seg.live++;
    this.liveBytes += data.length;
    ref.seg = seg;
    ref.off = off;
    ref.len = data.length;
  }

  /**
   * The bytes `ref` points at. Memory segments return a view, valid until the next `put` or
   * `release` (segment buffers are recycled); disk segments return a fresh copy.
   */
  get(ref: PayloadRef): Buffer {
    const seg = ref.seg;
    if (!seg) throw new Error('payload was released');
    if (seg.kind === 'memory') return (seg.buf as Buffer).subarray(ref.off, ref.off + ref.len);
    if (ref.off >= seg.flushed) {
      const start = ref.off - seg.flushed;
      return Buffer.from((seg.pending as Buffer).subarray(start, start + ref.len));
    }
    const out = Buffer.allocUnsafe(ref.len);
    let done = 0;
    while (done < ref.len) {
      const n = readSync(seg.fd as number, out, done, ref.len - done, ref.off + done);
      if (n <= 0) throw new Error(`spill segment ${seg.id} is short`);
      done += n;
    }
    return out;
  }

  /** Copies the bytes `ref` points at into `target` at `offset` (no intermediate buffer). */
  readInto(ref: PayloadRef, target: Buffer, offset: number): void {
    const seg = ref.seg;
    if (!seg) throw new Error('payload was released');
    if (seg.kind === 'memory') {
      (seg.buf as Buffer).copy(target, offset, ref.off, ref.off + ref.len);
      return;
    }
    if (ref.off >= seg.flushed) {
      const start = ref.off - seg.flushed;
      (seg.pending as Buffer).copy(target, offset, start, start + ref.len);
      return;
    }
    let done = 0;
    while (done < ref.len) {
      const n = readSync(seg.fd as number, target, offset + done, ref.len - done, ref.off + done);
      if (n <= 0) throw new Error(`spill segment ${seg.id} is short`);
      done += n;
    }
  }

  release(ref: PayloadRef): void {
    const seg = ref.seg;
    if (!seg) return;
    ref.seg = null;
    seg.live--;
    this.liveBytes -= ref.len;
    if (seg.live === 0 && seg !== this.current) this.drop(seg);
  }

  stats(): PayloadStoreStats {
    return {
      memoryBytes: this.memoryBytes,
      diskBytes: this.diskBytes,
      segments: this.segments.size,
      liveBytes: this.liveBytes,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const seg of [...this.segments]) this.drop(seg);
    this.spareBuffers.length = 0;
    this.writeBuffer = undefined;
    this.memoryBytes = 0;
    this.current = undefined;
  }

  private segmentFor(length: number): Segment {
    const cur = this.current;
    if (cur && cur.capacity - cur.used >= length) return cur;
    if (cur) {
      this.current = undefined;
      if (cur.live === 0) this.drop(cur);
      else if (cur.kind === 'disk') {
        this.flush(cur); // sealed: reads go to the file; the write buffer moves on
        cur.pending = undefined;
      }
    }
    const memorySize = Math.max(this.memorySegmentBytes, length);
    const spare = memorySize === this.memorySegmentBytes ? this.spareBuffers.pop() : undefined;
    const seg = spare
      ? this.newMemorySegment(memorySize, spare)
      : this.memoryBytes + memorySize <= this.budget
        ? this.newMemorySegment(memorySize)
        : this.newDiskSegment(Math.max(this.diskSegmentBytes, length));
    this.current = seg;
    return seg;
  }

  private newMemorySegment(capacity: number, spare?: Buffer): Segment {
    const seg: Segment = {
      id: this.nextId++,
      kind: 'memory',
      capacity,
      used: 0,
      live: 0,
      buf: spare ?? Buffer.allocUnsafeSlow(capacity),
      fd: undefined,
      path: undefined,
      flushed: 0,
      pending: undefined,
    };
    if (!spare) this.memoryBytes += capacity;
    this.segments.add(seg);
    return seg;
  }

  private newDiskSegment(capacity: number): Segment {
    const id = this.nextId++;
    const path = join(this.spillDirectory, `podbus-sb-spill-${process.pid}-${Date.now()}-${id}`);
    const fd = openSync(path, 'wx+', 0o600);
    let kept: string | undefined;
    try {
      unlinkSync(path);
    } catch {
      kept = path; // platforms that cannot unlink open files: removed on drop
    }
    const seg: Segment = {
      id,
      kind: 'disk',
      capacity,
      used: 0,
      live: 0,
      buf: undefined,
      fd,
      path: kept,
      flushed: 0,
      pending: (this.writeBuffer ??= Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES)),
    };
    this.segments.add(seg);
    return seg;
  }

  private appendToDisk(seg: Segment, data: Buffer): void {
    const pending = seg.pending as Buffer;
    const pendingLength = seg.used - seg.flushed;
    if (pendingLength + data.length > pending.length) {
      this.flush(seg);
      if (data.length > pending.length) {
        writeFully(seg.fd as number, data, seg.used);
        seg.flushed = seg.used + data.length;
        this.diskBytes += data.length;
        return;
      }
    }
    data.copy(pending, seg.used - seg.flushed);
  }

  private flush(seg: Segment): void {
    const length = seg.used - seg.flushed;
    if (length <= 0) return;
    writeFully(seg.fd as number, (seg.pending as Buffer).subarray(0, length), seg.flushed);
    this.diskBytes += length;
    seg.flushed = seg.used;
  }

  private drop(seg: Segment): void {
    if (!this.segments.delete(seg)) return;
    if (seg.kind === 'memory') {
      if (seg.capacity === this.memorySegmentBytes && !this.closed && seg.buf) {
        this.spareBuffers.push(seg.buf); // still counted in memoryBytes
      } else {
        this.memoryBytes -= seg.capacity;
      }
      seg.buf = undefined;
    } else {
      this.diskBytes -= seg.flushed;
      if (seg.fd !== undefined) closeSync(seg.fd);
      if (seg.path) {
        try {
          unlinkSync(seg.path);
        } catch {
          // already gone
        }
      }
      seg.fd = undefined;
      seg.pending = undefined;
    }
  }
}

function writeFully(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) {
    done += writeSync(fd, data, done, data.length - done, position + done);
  }
}
