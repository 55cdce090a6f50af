/**
 * A failure of `podbus clusters add` worded for the operator: what failed and what to do.
 * `usage` failures come from the flags or local files (exit 2); the others from the cluster
 * (exit 1). Messages never contain a token.
 */
export class OnboardingError extends Error {
  override readonly name = 'OnboardingError';

  constructor(
    message: string,
    readonly kind: 'usage' | 'cluster' = 'cluster',
  ) {
    super(message);
  }
}
