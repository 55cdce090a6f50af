import { buildProgram } from './cli/program.js';
import { CliUsageError, EXIT } from './cli/exit-codes.js';

/**
 * Entry point of the `podbus` command. Returns the process exit code instead of calling
 * process.exit so long-running commands can finish their own shutdown first.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`podbus: ${error.message}\n`);
      return EXIT.usage;
    }
    const commanderExit = commanderExitCode(error);
    if (commanderExit !== undefined) return commanderExit;
    process.stderr.write(`podbus: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}

/** commander throws a CommanderError (after printing its message) when exitOverride is on. */
function commanderExitCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code, exitCode } = error as { code: unknown; exitCode?: unknown };
  if (typeof code !== 'string' || !code.startsWith('commander.')) return undefined;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') return EXIT.ok;
  return typeof exitCode === 'number' && exitCode !== 0 ? EXIT.usage : EXIT.ok;
}
