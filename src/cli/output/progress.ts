import type { OutputStream } from '../io.js';

/**
 * Progress of a bulk operation on stderr. On a terminal: one line redrawn in place with `\r`
 * (`[########------------]  400/1000 sent`), at most every 100 ms. Elsewhere (CI logs, files):
 * a plain line at every 10 % step, so a log shows progress without thousands of lines.
 */
export interface Progress {
  /** `done` items of the total are finished. */
  update(done: number): void;
  /** Ends the progress display (the terminal line is completed with a newline). */
  finish(): void;
}

export interface ProgressOptions {
  readonly stream: OutputStream;
  readonly total: number;
  /** What is counted, e.g. "sent". */
  readonly verb: string;
  /** Clock for throttling (tests). */
  readonly now?: () => number;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

export function createProgress(options: ProgressOptions): Progress {
  const { stream, total, verb } = options;
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  let lastDraw = -Infinity;
  let lastStep = 0;
  let lastDone = 0;
  let drawn = false;
  let finished = false;

  const text = (done: number): string => {
    const digits = String(total).length;
    return `${String(done).padStart(digits)}/${total} ${verb}`;
  };
  const draw = (done: number): void => {
    const ratio = total === 0 ? 1 : Math.min(1, done / total);
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
    stream.write(`\r[${bar}] ${text(done)}`);
    drawn = true;
    lastDraw = now();
  };

  return {
    update(done: number): void {
      if (finished) return;
      lastDone = done;
      if (tty) {
        if (done >= total || now() - lastDraw >= REDRAW_MS) draw(done);
        return;
      }
      const step = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (step > lastStep) {
        lastStep = step;
        stream.write(`${text(done)}\n`);
      }
    },
    finish(): void {
      if (finished) return;
      finished = true;
      if (tty && (drawn || total > 0)) {
        draw(lastDone);
        stream.write('\n');
      }
    },
  };
}
