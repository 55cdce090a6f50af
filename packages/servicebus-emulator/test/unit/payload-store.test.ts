import { describe, expect, it } from '@jest/globals';

import { PayloadStore } from '../../src/payload-store.js';
import type { PayloadRef } from '../../src/payload-store.js';

const ref = (): PayloadRef => ({ seg: null, off: 0, len: 0 });
const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

describe('PayloadStore', () => {
  it('stores and returns payloads, freeing a segment once nothing references it', () => {
    const store = new PayloadStore({ memorySegmentBytes: 1024, memoryBudgetBytes: 1 << 20 });
    const refs = Array.from({ length: 10 }, (_, i) => {
      const r = ref();
      store.put(r, bytes(300, i));
      return r;
    });
    refs.forEach((r, i) => expect(store.get(r).equals(bytes(300, i))).toBe(true));
    expect(store.stats().liveBytes).toBe(3000);
    const segmentsBefore = store.stats().segments;
    for (const r of refs.slice(0, 6)) store.release(r);
    expect(store.stats().segments).toBeLessThan(segmentsBefore);
    refs.slice(6).forEach((r, i) => expect(store.get(r).equals(bytes(300, i + 6))).toBe(true));
    expect(() => store.get(refs[0] as PayloadRef)).toThrow('released');
    store.close();
  });

  it('spills to temporary files past the memory budget and reads them back', () => {
    const store = new PayloadStore({
      memorySegmentBytes: 4096,
      memoryBudgetBytes: 8192,
      diskSegmentBytes: 64 * 1024,
    });
    const refs = Array.from({ length: 200 }, (_, i) => {
      const r = ref();
      store.put(r, bytes(1000, i % 251));
      return r;
    });
    const stats = store.stats();
    expect(stats.memoryBytes).toBeLessThanOrEqual(8192);
    refs.forEach((r, i) => expect(store.get(r).equals(bytes(1000, i % 251))).toBe(true));
    // a payload larger than the write buffer goes straight to the file
    const big = ref();
    store.put(big, bytes(300 * 1024, 7));
    expect(store.get(big).equals(bytes(300 * 1024, 7))).toBe(true);
    for (const r of [...refs, big]) store.release(r);
    expect(store.stats().liveBytes).toBe(0);
    store.close();
  });

  it('replacing a payload releases the old one', () => {
    const store = new PayloadStore();
    const r = ref();
    store.put(r, bytes(10, 1));
    store.put(r, bytes(20, 2));
    expect(store.get(r).equals(bytes(20, 2))).toBe(true);
    expect(store.stats().liveBytes).toBe(20);
    store.close();
  });
});
