import { describe, expect, it } from '@jest/globals';

import { FaultConfigError, FaultState } from '../../src/faults.js';

/** The decisions a fault state makes for `n` events of each kind. */
function decisions(state: FaultState, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      [
        state.connectionDropAfterEvent() ?? '-',
        state.lockLossDelay(60_000) ?? '-',
        state.settlementFault()?.kind ?? '-',
        state.deliveryDelayMs(),
      ].join(' '),
    );
  }
  return out;
}

const CHAOS = {
  connectionDrop: { rate: 0.2 },
  lockLoss: { rate: 0.3 },
  settlementFailure: { rate: 0.2 },
  settlementHang: { rate: 0.1 },
  deliveryDelay: { rate: 0.5, minMs: 10, maxMs: 500 },
};

describe('fault state', () => {
  it('makes the same decisions for the same seed, and others for another seed', () => {
    const a = new FaultState(7);
    const b = new FaultState(7);
    const c = new FaultState(8);
    for (const s of [a, b, c]) s.set(CHAOS);
    const first = decisions(a, 200);
    expect(decisions(b, 200)).toEqual(first);
    expect(decisions(c, 200)).not.toEqual(first);
    // roughly the configured share is hit
    const drops = first.filter((d) => d.startsWith('reset')).length;
    expect(drops).toBeGreaterThan(10);
    expect(drops).toBeLessThan(80);
  });

  it("keeps one fault's draws independent of another being switched on", () => {
    const alone = new FaultState(3);
    alone.set({ lockLoss: { rate: 0.5 } });
    const withOthers = new FaultState(3);
    withOthers.set({ lockLoss: { rate: 0.5 }, connectionDrop: { rate: 0.5 } });
    const locks = (s: FaultState): unknown[] =>
      Array.from({ length: 50 }, () => {
        s.connectionDropAfterEvent();
        return s.lockLossDelay(1000);
      });
    expect(locks(withOthers)).toEqual(locks(alone));
  });

  it('counts what it injected', () => {
    const s = new FaultState(1);
    s.set({ settlementFailure: { rate: 1 }, deliveryDelay: { rate: 1, maxMs: 5 } });
    expect(s.settlementFault()).toMatchObject({ kind: 'fail', condition: 'amqp:internal-error' });
    s.deliveryDelayMs();
    expect(s.counts()).toMatchObject({ settlementsFailed: 1, deliveriesDelayed: 1 });
  });

  it('merges patches, clears keys set to null, and refuses bad faults with a clear message', () => {
    const s = new FaultState(1);
    s.set({ lockLoss: { rate: 0.5 }, connectionDrop: { rate: 0.1, how: 'close' } });
    s.set({ lockLoss: null });
    expect(s.get()).toEqual({ connectionDrop: { rate: 0.1, how: 'close' } });
    expect(() => s.set({ lockLoss: { rate: 2 } })).toThrow(
      new FaultConfigError('lockLoss.rate must be between 0 and 1, got 2'),
    );
    expect(() => s.set({ nonsense: true } as never)).toThrow(/unknown fault "nonsense"/);
    expect(() => s.set({ connectionDrop: { rate: 1, how: 'explode' } } as never)).toThrow(
      'connectionDrop.how must be "reset" or "close"',
    );
    expect(() =>
      s.set({ settlementFailure: { rate: 1, condition: 'amqp:not-found' } } as never),
    ).toThrow(/settlementFailure.condition must be one of amqp:internal-error/);
    expect(() => s.set({ deliveryDelay: { rate: 1, minMs: 5, maxMs: 1 } })).toThrow(
      'deliveryDelay.minMs must be <= maxMs',
    );
    expect(s.get()).toEqual({ connectionDrop: { rate: 0.1, how: 'close' } });
    s.clear();
    expect(s.get()).toEqual({});
  });
});
