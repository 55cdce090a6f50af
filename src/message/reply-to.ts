/**
 * A challenge message's `replyTo`, read as a Service Bus queue name. The sender controls it, so
 * it is taken only when it is a plain queue name (what .NET's `ServiceBusMessage.ReplyTo` and
 * the JavaScript SDK's `replyTo` hold when a sender names its reply queue): 1 to 260 letters,
 * digits, `.`, `-`, `_` and `/`, starting and ending with a letter or digit, as Service Bus
 * names entities. No address (`sb://...`), no `$` system entity (`$DeadLetterQueue`, `$cbs`,
 * `$management`), nothing that needs escaping in a pod annotation or a log line. Whether the
 * operator lets results go there is policy's question (policy/result-queue.ts).
 */
const QUEUE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._\-/]{0,258}[A-Za-z0-9])?$/;

/** The queue name `replyTo` holds, or undefined when it holds none (or something else). */
export function replyToQueue(replyTo: unknown): string | undefined {
  if (typeof replyTo !== 'string' || !QUEUE_NAME.test(replyTo)) return undefined;
  // Service Bus refuses consecutive slashes and path segments ending in a dot.
  if (replyTo.includes('//') || /\.(\/|$)/.test(replyTo)) return undefined;
  return replyTo;
}
