/**
 * Joins problem sentences into one dead-letter description. Bounded because Service Bus stores
 * it as a message property: the first problems are the ones a sender fixes first anyway.
 */
const MAX_PROBLEMS = 8;
const MAX_LENGTH = 2000;

export function joinProblems(problems: readonly string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS);
  const hidden = problems.length - shown.length;
  const text = shown.join('; ') + (hidden > 0 ? `; and ${hidden} more` : '');
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH - 1)}…` : text;
}
