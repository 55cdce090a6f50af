/**
 * Text as a terminal should show it: one line, with no control characters. What podbus prints
 * comes partly from elsewhere (message IDs, dead-letter descriptions, pod and event messages,
 * written by senders or by whoever can create pods), and an escape sequence in it could rewrite
 * the screen, retitle the terminal or hide what follows.
 */
export function printable(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(/\p{Cc}/gu, '');
}
