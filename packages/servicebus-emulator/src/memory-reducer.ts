import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Gives memory back after a burst. V8 grows its heap generously while messages pour in and keeps
 * it when traffic stops, and Node exposes no idle hook that would let V8 shrink it. So, once the
 * emulator has been quiet for a while after activity, this runs one memory-reducing full
 * collection ("last resort" flavour: compacts and returns freed pages to the OS). At most one
 * collection per quiet period; nothing happens while traffic flows.
 *
 * It needs `gc`, which it obtains by enabling `--expose-gc` at runtime — a process-wide change,
 * so only the dedicated emulator process (the CLI) turns this on, never the library by default.
 */
type GcFunction = (options?: { type?: string; execution?: string; flavor?: string }) => void;

export class IdleMemoryReducer {
  private activity = 0;
  private seen = 0;
  private dirty = false;
  private readonly timer: NodeJS.Timeout;
  private readonly gc: GcFunction;

  constructor(quietMs = 1_500) {
    setFlagsFromString('--expose-gc');
    this.gc = runInNewContext('gc') as GcFunction;
    this.timer = setInterval(() => this.check(), quietMs);
    this.timer.unref();
  }

  /** Records that the emulator did something. */
  touch(): void {
    this.activity++;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    if (this.activity !== this.seen) {
      this.seen = this.activity;
      this.dirty = true;
      return;
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  }
}
