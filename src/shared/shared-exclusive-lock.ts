/**
 * Runs tasks either shared (any number at once) or exclusive (alone: after every task before it
 * has finished, and before any task after it starts). Fair: tasks start in the order they were
 * asked for, so a steady stream of shared tasks cannot starve an exclusive one.
 */
export class SharedExclusiveLock {
  private running = 0;
  private exclusiveRunning = false;
  private readonly waiting: { readonly exclusive: boolean; readonly start: () => void }[] = [];

  /** Runs `task` alongside other shared tasks. */
  shared<T>(task: () => Promise<T>): Promise<T> {
    return this.run(false, task);
  }

  /** Runs `task` with nothing else running. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.run(true, task);
  }

  private run<T>(exclusive: boolean, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running += 1;
        this.exclusiveRunning = exclusive;
        void (async () => {
          try {
            resolve(await task());
          } catch (error) {
            reject(error);
          } finally {
            this.running -= 1;
            this.exclusiveRunning = false;
            this.startWhatCan();
          }
        })();
      };
      this.waiting.push({ exclusive, start });
      this.startWhatCan();
    });
  }

  private startWhatCan(): void {
    while (this.waiting.length > 0 && !this.exclusiveRunning) {
      const next = this.waiting[0]!;
      if (next.exclusive && this.running > 0) return;
      this.waiting.shift();
      next.start();
    }
  }
}
