/**
 * What the emulator's command line needs from its process: a usage error (exit 2) and the stop
 * signals. The first SIGINT/SIGTERM stops the emulator gracefully; a second one forces the
 * process out at once (130 for SIGINT, 143 for SIGTERM, the shell convention).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A mistake in how the command was called: printed without a stack, exit code 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface SignalHandle {
  /** Resolves with the first signal received. */
  readonly stopped: Promise<StopSignal>;
  /** Removes the handlers (call after the graceful stop has finished). */
  dispose(): void;
}

export function onStopSignals(): SignalHandle {
  let first: StopSignal | undefined;
  let resolveStopped!: (signal: StopSignal) => void;
  const stopped = new Promise<StopSignal>((resolve) => (resolveStopped = resolve));
  const handler = (signal: StopSignal): void => {
    if (first !== undefined) process.exit(signal === 'SIGINT' ? 130 : 143);
    first = signal;
    resolveStopped(signal);
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    stopped,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
