import type { Command } from 'commander';

/** `podbus emulator servicebus`: filled in with the Service Bus emulator. */
export function registerServiceBusEmulatorCommand(_emulator: Command): void {}
