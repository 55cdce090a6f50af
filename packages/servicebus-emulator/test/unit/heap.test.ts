import { describe, expect, it } from '@jest/globals';

import { IndexedHeap, NOT_IN_HEAP } from '../../src/heap.js';

interface Item {
  key: number;
  idx: number;
  id: number;
}

const heap = (): IndexedHeap<Item> =>
  new IndexedHeap<Item>({
    key: (i) => i.key,
    getIndex: (i) => i.idx,
    setIndex: (i, n) => {
      i.idx = n;
    },
  });

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('IndexedHeap', () => {
  it('pops in key order', () => {
    const h = heap();
    for (const k of [5, 3, 9, 1, 7, 1]) h.push({ key: k, idx: NOT_IN_HEAP, id: k });
    const out: number[] = [];
    for (let i = h.pop(); i; i = h.pop()) out.push(i.key);
    expect(out).toEqual([1, 1, 3, 5, 7, 9]);
    expect(h.peekKey()).toBe(Infinity);
  });

  it('matches a sorted reference under random push/pop/remove/update', () => {
    const random = rng(42);
    const h = heap();
    const live = new Set<Item>();
    let nextId = 0;
    for (let step = 0; step < 20_000; step++) {
      const r = random();
      if (r < 0.45 || live.size === 0) {
        const item = { key: Math.floor(random() * 1000), idx: NOT_IN_HEAP, id: nextId++ };
        h.push(item);
        live.add(item);
      } else if (r < 0.65) {
        const top = h.pop() as Item;
        const min = Math.min(...[...live].map((i) => i.key));
        expect(top.key).toBe(min);
        expect(top.idx).toBe(NOT_IN_HEAP);
        live.delete(top);
      } else if (r < 0.85) {
        const victim = [...live][Math.floor(random() * live.size)] as Item;
        expect(h.remove(victim)).toBe(true);
        expect(h.remove(victim)).toBe(false);
        live.delete(victim);
      } else {
        const item = [...live][Math.floor(random() * live.size)] as Item;
        item.key = Math.floor(random() * 1000);
        h.update(item);
      }
      expect(h.size).toBe(live.size);
    }
    const rest: number[] = [];
    for (let i = h.pop(); i; i = h.pop()) rest.push(i.key);
    expect(rest).toEqual([...live].map((i) => i.key).sort((a, b) => a - b));
  });

  it('ignores items that belong to another heap', () => {
    const a = heap();
    const b = heap();
    const x = { key: 1, idx: NOT_IN_HEAP, id: 1 };
    const y = { key: 2, idx: NOT_IN_HEAP, id: 2 };
    a.push(x);
    b.push(y); // y.idx === 0 === x.idx
    expect(a.contains(y)).toBe(false);
    expect(a.remove(y)).toBe(false);
    expect(a.size).toBe(1);
  });
});
