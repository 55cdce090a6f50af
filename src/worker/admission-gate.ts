/**
 * Decides whether the worker may take another message. Closed while no cluster can accept a
 * pod (every cluster full or unhealthy): the worker then stops pulling instead of taking
 * messages it could only hold or abandon.
 */
export interface AdmissionGate {
  /** undefined when open, else why it is closed (for logs and /readyz). */
  closedBecause(): string | undefined;
  /** Resolves when the gate opens; rejects when the signal aborts. */
  waitUntilOpen(signal: AbortSignal): Promise<void>;
}

/** A gate that polls a predicate; simple and cheap at the rates podbus sees (ms-scale checks). */
export function pollingGate(
  closedBecause: () => string | undefined,
  pollIntervalMs = 250,
): AdmissionGate {
  return {
    closedBecause,
    waitUntilOpen: (signal) =>
      new Promise<void>((resolve, reject) => {
        if (closedBecause() === undefined) return resolve();
        const timer = setInterval(() => {
          if (closedBecause() === undefined) {
            cleanup();
            resolve();
          }
        }, pollIntervalMs);
        const onAbort = () => {
          cleanup();
          reject(signal.reason);
        };
        const cleanup = () => {
          clearInterval(timer);
          signal.removeEventListener('abort', onAbort);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      }),
  };
}
