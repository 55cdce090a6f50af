import type { Connection } from 'rhea';

/**
 * rhea decodes every message of format 0 in full, recursively, inside the connection's input
 * handler, before the application sees it: a body nested thousands of levels deep overflows
 * the stack there and the whole connection is reset, and a re-encode of what it decoded is not
 * the sender's bytes. The emulator stores and delivers messages verbatim, so it takes format-0
 * transfers as the bytes that arrived (rhea hands over undecoded any format it does not know)
 * and decodes only what it must (requests on `$cbs` and `$management`), guarded.
 */

/** The format the emulator's rhea sees for a format-0 transfer: not a valid AMQP format. */
export const UNDECODED_FORMAT = -1;

interface TransferFrame {
  performative: { message_format?: number | null };
}

/** Makes `connection` hand over format-0 messages as their bytes (format UNDECODED_FORMAT). */
export function keepTransfersUndecoded(connection: Connection): void {
  const c = connection as unknown as { on_transfer(frame: TransferFrame): void };
  const onTransfer = c.on_transfer;
  c.on_transfer = function (this: unknown, frame: TransferFrame): void {
    const performative = frame.performative;
    if (!performative.message_format) {
      // an own property shadows the composite's accessor, which only takes valid uints
      Object.defineProperty(performative, 'message_format', { value: UNDECODED_FORMAT });
    }
    onTransfer.call(this, frame);
  };
}

/** True for a transfer that carried a plain AMQP message (format 0, or none given). */
export function isPlainMessage(format: number | undefined): boolean {
  return format === UNDECODED_FORMAT || format === 0 || format === undefined;
}
