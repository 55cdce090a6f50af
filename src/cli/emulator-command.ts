import type { Command } from 'commander';

/**
 * `podbus emulator <servicebus|kubernetes>`: runs one of the bundled stand-ins on its own.
 * The subcommands are registered by the emulator modules as they land.
 */
export function registerEmulatorCommands(program: Command): void {
  program
    .command('emulator')
    .description('Run a bundled local stand-in for Azure Service Bus or Kubernetes.')
    .exitOverride();
}
