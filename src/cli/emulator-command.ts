import type { Command } from 'commander';

import { registerKubernetesEmulatorCommand } from './emulator-kubernetes-command.js';
import { registerServiceBusEmulatorCommand } from './emulator-servicebus-command.js';

/** `podbus emulator <servicebus|kubernetes>`: runs one of the bundled stand-ins on its own. */
export function registerEmulatorCommands(program: Command): void {
  const emulator = program
    .command('emulator')
    .description('Run a bundled local stand-in for Azure Service Bus or Kubernetes.')
    .addHelpText(
      'after',
      `
Examples:
  podbus emulator servicebus --port 5672
  podbus emulator kubernetes --clusters 2 --write-kubeconfig kubeconfig`,
    );
  registerServiceBusEmulatorCommand(emulator);
  registerKubernetesEmulatorCommand(emulator);
}
