import { describe, expect, test } from '@jest/globals';

import {
  createSelector,
  rendezvousOrder,
  unitHash,
  type ClusterView,
} from '../../../src/clusters/strategies.js';

const view = (name: string, over: Partial<ClusterView> = {}): ClusterView => ({
  name,
  weight: 1,
  activePods: 0,
  maxActivePods: 0,
  healthy: true,
  hasCapacity: true,
  ...over,
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => `msg-${i}`);

function firstChoices(select: (id: string) => readonly string[], messages: string[]) {
  const counts: Record<string, number> = {};
  for (const id of messages) {
    const first = select(id)[0]!;
    counts[first] = (counts[first] ?? 0) + 1;
  }
  return counts;
}

describe('round-robin', () => {
  test('rotates the first choice through the configured order; the rest follow', () => {
    const s = createSelector('round-robin');
    const clusters = [view('a'), view('b'), view('c')];
    const picks = [1, 2, 3, 4].map(() => s.select(clusters, { messageId: 'x' }).candidates);
    expect(picks).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c', 'a'],
      ['c', 'a', 'b'],
      ['a', 'b', 'c'],
    ]);
  });

  test('skips unhealthy and full clusters and says why', () => {
    const s = createSelector('round-robin');
    const sel = s.select(
      [view('a', { healthy: false }), view('b'), view('c', { hasCapacity: false })],
      { messageId: 'x' },
    );
    expect(sel.candidates).toEqual(['b']);
    expect(sel.skipped).toEqual([
      { name: 'a', reason: 'unhealthy' },
      { name: 'c', reason: 'full' },
    ]);
  });
});

describe('weighted (smooth weighted round-robin)', () => {
  test('first choices follow the weights exactly over a full cycle, interleaved', () => {
    const s = createSelector('weighted');
    const clusters = [view('a', { weight: 5 }), view('b', { weight: 1 }), view('c', { weight: 1 })];
    const seq = Array.from(
      { length: 7 },
      () => s.select(clusters, { messageId: 'x' }).candidates[0],
    );
    // nginx's documented sequence for weights 5,1,1
    expect(seq).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  test('distribution over many picks matches weights 3:1', () => {
    const s = createSelector('weighted');
    const clusters = [view('a', { weight: 3 }), view('b', { weight: 1 })];
    const counts = firstChoices((id) => s.select(clusters, { messageId: id }).candidates, ids(400));
    expect(counts).toEqual({ a: 300, b: 100 });
  });

  test('deterministic: two selectors produce the same sequence', () => {
    const clusters = [view('a', { weight: 2 }), view('b', { weight: 3 })];
    const run = () => {
      const s = createSelector('weighted');
      return Array.from({ length: 20 }, () =>
        s.select(clusters, { messageId: 'x' }).candidates.join(),
      );
    };
    expect(run()).toEqual(run());
  });

  test('every candidate list contains every eligible cluster', () => {
    const s = createSelector('weighted');
    const sel = s.select([view('a', { weight: 2 }), view('b'), view('c', { healthy: false })], {
      messageId: 'x',
    });
    expect([...sel.candidates].sort()).toEqual(['a', 'b']);
  });
});

describe('least-loaded', () => {
  test('orders by utilisation activePods / maxActivePods', () => {
    const s = createSelector('least-loaded');
    const sel = s.select(
      [
        view('a', { activePods: 8, maxActivePods: 10 }),
        view('b', { activePods: 1, maxActivePods: 2 }),
        view('c', { activePods: 3, maxActivePods: 20 }),
      ],
      { messageId: 'x' },
    );
    expect(sel.candidates).toEqual(['c', 'b', 'a']);
  });

  test('unbounded clusters: fewer active pods per unit of weight first', () => {
    const s = createSelector('least-loaded');
    const sel = s.select(
      [view('a', { activePods: 4, weight: 1 }), view('b', { activePods: 6, weight: 3 })],
      { messageId: 'x' },
    );
    expect(sel.candidates).toEqual(['b', 'a']);
  });

  test('ties are broken by the message hash, so equal clusters share the load', () => {
    const s = createSelector('least-loaded');
    const clusters = [view('a'), view('b'), view('c')];
    const counts = firstChoices(
      (id) => s.select(clusters, { messageId: id }).candidates,
      ids(3000),
    );
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(850);
  });
});

describe('hash (weighted rendezvous)', () => {
  const three = [view('alpha'), view('beta'), view('gamma')];

  test('the same message ID always gives the same order, on any replica', () => {
    const a = createSelector('hash');
    const b = createSelector('hash');
    for (const id of ids(50)) {
      expect(a.select(three, { messageId: id }).candidates).toEqual(
        b.select([...three].reverse(), { messageId: id }).candidates,
      );
    }
  });

  test('spreads evenly with equal weights', () => {
    const s = createSelector('hash');
    const counts = firstChoices((id) => s.select(three, { messageId: id }).candidates, ids(6000));
    for (const n of Object.values(counts)) {
      expect(n).toBeGreaterThan(1800);
      expect(n).toBeLessThan(2200);
    }
  });

  test('honours weights (2:1:1)', () => {
    const s = createSelector('hash');
    const weighted = [view('alpha', { weight: 2 }), view('beta'), view('gamma')];
    const counts = firstChoices(
      (id) => s.select(weighted, { messageId: id }).candidates,
      ids(8000),
    );
    expect(counts.alpha! / 8000).toBeGreaterThan(0.46);
    expect(counts.alpha! / 8000).toBeLessThan(0.54);
  });

  test('adding a cluster only moves the messages the new cluster wins', () => {
    const s = createSelector('hash');
    const four = [...three, view('delta')];
    let moved = 0;
    for (const id of ids(4000)) {
      const before = s.select(three, { messageId: id }).candidates[0];
      const after = s.select(four, { messageId: id }).candidates[0];
      if (before !== after) {
        expect(after).toBe('delta');
        moved += 1;
      }
    }
    expect(moved / 4000).toBeGreaterThan(0.2);
    expect(moved / 4000).toBeLessThan(0.3);
  });

  test('removing (or skipping) a cluster only moves the messages it held', () => {
    const s = createSelector('hash');
    const betaDown = [view('alpha'), view('beta', { healthy: false }), view('gamma')];
    for (const id of ids(2000)) {
      const full = s.select(three, { messageId: id }).candidates;
      const degraded = s.select(betaDown, { messageId: id }).candidates;
      expect(degraded).toEqual(full.filter((n) => n !== 'beta'));
    }
  });

  test('unitHash is in (0,1) and rendezvousOrder is stable', () => {
    const u = unitHash('alpha', 'm');
    expect(u).toBeGreaterThan(0);
    expect(u).toBeLessThan(1);
    expect(rendezvousOrder(three, 'm')).toEqual(rendezvousOrder([...three].reverse(), 'm'));
  });
});

describe('preferred cluster', () => {
  test('goes first when eligible, whatever the strategy', () => {
    for (const strategy of ['round-robin', 'weighted', 'least-loaded', 'hash'] as const) {
      const s = createSelector(strategy);
      const sel = s.select([view('a'), view('b'), view('c')], { messageId: 'm', preferred: 'c' });
      expect(sel.candidates[0]).toBe('c');
      expect(sel.candidates).toHaveLength(3);
    }
  });

  test('is skipped like any other when unhealthy or full; unknown names are ignored', () => {
    const s = createSelector('hash');
    const sel = s.select([view('a'), view('b', { hasCapacity: false })], {
      messageId: 'm',
      preferred: 'b',
    });
    expect(sel.candidates).toEqual(['a']);
    expect(s.select([view('a')], { messageId: 'm', preferred: 'zzz' }).candidates).toEqual(['a']);
  });
});
