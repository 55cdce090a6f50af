/** One thing wrong with the configuration: where (a config path) and what to do about it. */
export interface ConfigProblem {
  /** Config path, e.g. `serviceBus.maxConcurrentCalls` or `clusters[1].token`. */
  readonly path: string;
  /** What is wrong, with the offending value when it is not secret and where it came from. */
  readonly message: string;
  /** How to fix it, when the message alone does not say. */
  readonly hint?: string;
}

/**
 * Thrown by compile (compile.ts) with every problem found (not just the first), one per line, so a
 * person fixes them all in one go. Never contains a sensitive value.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(renderProblems(problems));
    this.problems = problems;
  }
}

export function renderProblems(problems: readonly ConfigProblem[]): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map(
    (p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}${p.hint ? `. Fix: ${p.hint}` : ''}`,
  );
  return [`invalid configuration (${count}):`, ...lines].join('\n');
}
