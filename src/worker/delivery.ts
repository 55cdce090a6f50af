import type { HandlingOutcome } from './outcome.js';

/** What keeps a message's lock alive (LockKeeper). */
export interface HeldLock {
  stop(): void;
}

/**
 * One delivery, from decision to settlement, with its lock kept alive the whole time.
 *
 * The lock must outlive the decision: a dead-letter or an abandon goes out alone (settle.ts),
 * so a message can wait behind another message's slow or hung disposition. A lock let go when
 * the decision was made would lapse meanwhile: the broker would redeliver a message whose pod
 * already exists, and with one hung disposition the lock of every message queued behind it.
 * The lock is released once the settlement is done, whatever its result.
 */
export async function settleWhileLocked<S>(
  lock: HeldLock,
  decide: () => Promise<HandlingOutcome>,
  settle: (outcome: HandlingOutcome) => Promise<S>,
): Promise<S> {
  try {
    return await settle(await decide());
  } finally {
    lock.stop();
  }
}
