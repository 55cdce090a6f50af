/**
 * Time for tests that never wait: `sleep` resolves when `advance` moves the clock past it, in
 * order, letting the promise chains of the code under test run between timers.
 */
export class FakeClock {
  now = 0;
  private timers: { at: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;

  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = { at: this.now + Math.max(0, ms), seq: this.seq++, resolve: () => undefined };
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal?.reason);
      };
      timer.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      await settle();
      const due = this.timers
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.resolve();
    }
    this.now = target;
    await settle();
  }

  /** Advances in steps of `stepMs`, calling `check` after each (for invariants over time). */
  async walk(totalMs: number, stepMs: number, check: () => void): Promise<void> {
    for (let t = 0; t < totalMs; t += stepMs) {
      await this.advance(stepMs);
      check();
    }
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise<void>((r) => setImmediate(r));
}
