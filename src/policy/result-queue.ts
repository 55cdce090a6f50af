import { replyToQueue } from '../message/reply-to.js';

/** Where results go: the part of the `results` section that decides it for each message. */
export interface ResultRouting {
  /** The default results queue; '' turns results off. */
  readonly queueName: string;
  /**
   * Queue-name patterns a message's `replyTo` may name (`*` matches any run of characters,
   * compared case-insensitively as Service Bus compares names). Empty: every result goes to
   * `queueName`.
   */
  readonly allowedReplyTo: readonly string[];
}

const PATTERN = /^[A-Za-z0-9._\-/*]+$/;

/** Why `pattern` cannot be an allowedReplyTo entry, or undefined when it is fine. */
export function replyToPatternProblem(pattern: string): string | undefined {
  if (pattern === '') return 'an empty pattern matches nothing';
  if (!PATTERN.test(pattern)) {
    return `"${pattern}" may only contain letters, digits, ".", "_", "-", "/" and "*"`;
  }
  return undefined;
}

/**
 * The queue a message's result goes to: its `replyTo` when that is a queue name matching one of
 * `allowedReplyTo`, else `queueName`; undefined when results are off or there is no queue. A
 * sender cannot make podbus write to a queue the operator did not allow (the worker's identity
 * may send to more queues than the sender's), so anything else in `replyTo` is ignored.
 */
export function resultQueueFor(replyTo: unknown, routing: ResultRouting): string | undefined {
  if (routing.queueName === '') return undefined;
  const queue = replyToQueue(replyTo);
  if (queue !== undefined && routing.allowedReplyTo.some((p) => globMatches(p, queue))) {
    return queue;
  }
  return routing.queueName;
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.\-/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i').test(name);
}
