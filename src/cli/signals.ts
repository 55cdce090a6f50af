/**
 * Process signal handling for long-running commands (`podbus run`, `podbus local`, emulators).
 *
 * The first SIGINT/SIGTERM starts a graceful stop; a second one forces the process out at once
 * (exit 130 for SIGINT, 143 for SIGTERM, the shell convention), for an operator who does not
 * want to wait for the drain. Handlers are installed once, at the top, and removed when the
 * graceful stop finishes so nothing lingers after the command returns.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface SignalHandle {
  /** Resolves with the first signal received. */
  readonly stopped: Promise<StopSignal>;
  /** Removes the handlers (call after the graceful stop has finished). */
  dispose(): void;
}

const SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM'];

export function onStopSignals(
  options: {
    onForce?: (signal: StopSignal) => void;
    exit?: (code: number) => void;
  } = {},
): SignalHandle {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let first: StopSignal | undefined;
  let resolveStopped!: (signal: StopSignal) => void;
  const stopped = new Promise<StopSignal>((resolve) => (resolveStopped = resolve));

  const handler = (signal: StopSignal): void => {
    if (first === undefined) {
      first = signal;
      resolveStopped(signal);
      return;
    }
    options.onForce?.(signal);
    exit(signal === 'SIGINT' ? 130 : 143);
  };
  const listeners = SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
  for (const [signal, listener] of listeners) process.on(signal, listener);

  return {
    stopped,
    dispose: () => {
      for (const [signal, listener] of listeners) process.off(signal, listener);
    },
  };
}
