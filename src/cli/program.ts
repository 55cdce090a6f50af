import { Command } from 'commander';

import { registerClustersCommands } from './clusters-command.js';
import { registerDlqCommands } from './dlq-command.js';
import { registerEmulatorCommands } from './emulator-command.js';
import { registerEnqueueCommand } from './enqueue-command.js';
import { registerLocalCommand } from './local-command.js';
import { packageVersion } from './package-version.js';
import { registerRunCommand } from './run-command.js';
import { registerStatusCommand } from './status-command.js';

/** Builds the `podbus` command tree. Each subcommand lives in its own module. */
export function buildProgram(): Command {
  const program = new Command('podbus')
    .description(
      'Turns Azure Service Bus challenge messages into Kubernetes Pods across a pool of clusters.',
    )
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerLocalCommand(program);
  registerRunCommand(program);
  registerEnqueueCommand(program);
  registerDlqCommands(program);
  registerStatusCommand(program);
  registerClustersCommands(program);
  registerEmulatorCommands(program);
  return program;
}
