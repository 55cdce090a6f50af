import type { Command } from 'commander';

import { registerKubernetesEmulatorCommand } from './emulator-kubernetes-command.js';
import { registerServiceBusEmulatorCommand } from './emulator-servicebus-command.js';

/** `podbus emulator <servicebus|kubernetes>`: runs one of the bundled stand-ins on its own. */
export function registerEmulatorCommands(program: Command): void {
  const emulator = program
    .command('emulator')
    .description('Run a bundled local stand-in for Azure Service Bus or Kubernetes.');
  registerServiceBusEmulatorCommand(emulator);
  registerKubernetesEmulatorCommand(emulator);
}
