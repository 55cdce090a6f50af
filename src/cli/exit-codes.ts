/**
 * Exit codes of every podbus command (documented in the README).
 * 0 success; 1 the command ran and failed (e.g. a cluster failed verification); 2 bad usage,
 * flags or configuration; 130/143 stopped by SIGINT/SIGTERM before finishing.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;

/** A mistake in how the command was called: printed without a stack, exit code 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}
