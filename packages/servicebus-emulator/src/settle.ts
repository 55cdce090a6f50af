import { createRequire } from 'node:module';

import type { Delivery } from 'rhea';

/**
 * Settling a delivery with an outcome, working around two rhea 3.0.5 behaviours:
 *
 * 1. rhea writes the dispositions of one tick as ranges of consecutive delivery ids and, when a
 *    range starts with a single delivery, does not compare the next delivery's outcome before
 *    extending the range (session.js `write_dispositions`). Settling d1 `accepted` and d2
 *    `rejected{message-lock-lost}` in the same tick therefore tells the client d2 was accepted.
 *    So only `accepted` outcomes go through rhea's batching (all-accepted ranges are correct);
 *    every other outcome is written as its own disposition frame at once.
 * 2. With receiver-settle-mode `second` the client settles when it sees our settlement and sends
 *    nothing more, but rhea keeps a sent delivery in the session's buffer until the peer settles
 *    it; such deliveries are marked remotely settled so the buffer drains.
 */

interface DeliveryInternals {
  id: number;
  settled: boolean;
  state: unknown;
  remote_settled: boolean;
  link: {
    is_receiver(): boolean;
    session: { output(frame: unknown): void };
    connection: { _register(): void };
  };
}

const require = createRequire(import.meta.url);
const frames = require('rhea/lib/frames.js') as {
  disposition(fields: Record<string, unknown>): unknown;
};

const ACCEPTED = 0x24;

function isAccepted(outcome: unknown): boolean {
  const descriptor = (outcome as { descriptor?: { value?: unknown } } | undefined)?.descriptor;
  return descriptor?.value === ACCEPTED;
}

export function settle(delivery: Delivery, outcome: unknown): void {
  const d = delivery as unknown as DeliveryInternals;
  const weSent = !d.link.is_receiver();
  if (isAccepted(outcome) || d.remote_settled) {
    delivery.update(true, outcome);
  } else {
    d.settled = true;
    d.state = outcome;
    d.link.session.output(
      frames.disposition({
        role: d.link.is_receiver(),
        first: d.id,
        last: d.id,
        state: outcome,
        settled: true,
      }),
    );
    d.link.connection._register(); // lets rhea drop the now settled delivery
  }
  if (weSent) d.remote_settled = true;
}
