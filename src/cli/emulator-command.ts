import type { Command } from 'commander';

import {
  ENTRA_EMULATOR,
  KUBERNETES_EMULATOR,
  SERVICE_BUS_EMULATOR,
  loadEmulatorCli,
} from './emulator-packages.js';

/**
 * `podbus emulator <servicebus|kubernetes|entra>`: runs one of the stand-ins on its own. Each is a
 * package of its own (packages/*-emulator, also `npx @podbus/<name>-emulator`); podbus only
 * hands the arguments over, loading the package when the command runs. The production image
 * ships without them, and says so.
 */
const EMULATORS = [
  {
    command: 'servicebus',
    pkg: SERVICE_BUS_EMULATOR,
    summary: 'Run the Service Bus emulator (AMQP 1.0 for the @azure/service-bus SDK).',
  },
  {
    command: 'kubernetes',
    pkg: KUBERNETES_EMULATOR,
    summary: 'Run the Kubernetes API emulator (HTTPS clusters for client-node and kubectl).',
  },
  {
    command: 'entra',
    pkg: ENTRA_EMULATOR,
    summary: 'Run the Microsoft Entra ID token endpoint emulator (tokens for @azure/identity).',
  },
] as const;

export function registerEmulatorCommands(program: Command): void {
  const emulator = program
    .command('emulator')
    .description(
      'Run a local stand-in for Azure Service Bus, Kubernetes or Entra ID (development only).',
    )
    .addHelpText(
      'after',
      `
Examples:
  podbus emulator servicebus --port 5672
  podbus emulator kubernetes --clusters 2 --write-kubeconfig kubeconfig
  podbus emulator entra --config entra.json
  podbus emulator servicebus --help

Each emulator is its own npm package; without podbus: npx @podbus/servicebus-emulator,
npx @podbus/kubernetes-emulator, npx @podbus/entra-emulator. The podbus container image does
not contain them.`,
    );
  for (const { command, pkg, summary } of EMULATORS) {
    emulator
      .command(command)
      .description(`${summary} Flags: podbus emulator ${command} --help.`)
      .argument('[flags...]')
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(async (flags: string[]) => {
        process.exitCode = await runEmulatorPackage(pkg, `podbus emulator ${command}`, flags);
      });
  }
}

async function runEmulatorPackage(pkg: string, name: string, flags: string[]): Promise<number> {
  const cli = await loadEmulatorCli(pkg, name);
  return cli.main(['node', name, ...flags], { name });
}
