/**
 * An indexed binary min-heap. Every item remembers its own position (through `getIndex` /
 * `setIndex`), so removing an arbitrary item or re-keying it after its key changed is
 * O(log n) instead of an O(n) search. The queue uses one heap per deadline kind (lock expiry,
 * scheduled enqueue, TTL) and one for ready messages ordered by sequence number, so no operation
 * ever scans all messages and no per-message timer exists.
 */
export interface HeapSlot<T> {
  key(item: T): number;
  getIndex(item: T): number;
  setIndex(item: T, index: number): void;
}

export const NOT_IN_HEAP = -1;

export class IndexedHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly slot: HeapSlot<T>) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** The smallest key, or Infinity when empty. */
  peekKey(): number {
    const top = this.items[0];
    return top === undefined ? Infinity : this.slot.key(top);
  }

  contains(item: T): boolean {
    const i = this.slot.getIndex(item);
    return i >= 0 && i < this.items.length && this.items[i] === item;
  }

  push(item: T): void {
    this.items.push(item);
    const i = this.items.length - 1;
    this.slot.setIndex(item, i);
    this.siftUp(i);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top === undefined) return undefined;
    this.removeAt(0);
    return top;
  }

  /** Removes `item` if it is in this heap; returns whether it was. */
  remove(item: T): boolean {
    if (!this.contains(item)) return false;
    this.removeAt(this.slot.getIndex(item));
    return true;
  }

  /** Restores the heap order after `item`'s key changed (either direction). */
  update(item: T): void {
    if (!this.contains(item)) return;
    const i = this.slot.getIndex(item);
    if (!this.siftUp(i)) this.siftDown(i);
  }

  /** All items in heap (not key) order; for snapshots and tests. */
  toArray(): readonly T[] {
    return this.items;
  }

  clear(): void {
    for (const item of this.items) this.slot.setIndex(item, NOT_IN_HEAP);
    this.items.length = 0;
  }

  private removeAt(i: number): void {
    const items = this.items;
    const removed = items[i] as T;
    const last = items.pop() as T;
    this.slot.setIndex(removed, NOT_IN_HEAP);
    if (i < items.length) {
      items[i] = last;
      this.slot.setIndex(last, i);
      if (!this.siftUp(i)) this.siftDown(i);
    }
  }

  /** Returns true when the item moved. */
  private siftUp(start: number): boolean {
    const items = this.items;
    const item = items[start] as T;
    const key = this.slot.key(item);
    let i = start;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (this.slot.key(parent) <= key) break;
      items[i] = parent;
      this.slot.setIndex(parent, i);
      i = parentIndex;
    }
    if (i !== start) {
      items[i] = item;
      this.slot.setIndex(item, i);
      return true;
    }
    return false;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[start] as T;
    const key = this.slot.key(item);
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let childKey = this.slot.key(items[left] as T);
      if (right < n) {
        const rightKey = this.slot.key(items[right] as T);
        if (rightKey < childKey) {
          child = right;
          childKey = rightKey;
        }
      }
      if (childKey >= key) break;
      const moved = items[child] as T;
      items[i] = moved;
      this.slot.setIndex(moved, i);
      i = child;
    }
    if (i !== start) {
      items[i] = item;
      this.slot.setIndex(item, i);
    }
  }
}
