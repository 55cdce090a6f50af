import { Command } from 'commander';

import { registerEmulatorCommands } from './emulator-command.js';
import { registerEnqueueCommand } from './enqueue-command.js';
import { registerRunCommand } from './run-command.js';

/** Builds the `podbus` command tree. Each subcommand lives in its own module. */
export function buildProgram(): Command {
  const program = new Command('podbus')
    .description(
      'Turns Azure Service Bus challenge messages into Kubernetes Pods across a pool of clusters.',
    )
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerRunCommand(program);
  registerEnqueueCommand(program);
  registerEmulatorCommands(program);
  return program;
}

function packageVersion(): string {
  return process.env.npm_package_version ?? '0.1.0';
}
