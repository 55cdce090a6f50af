import type { Command } from 'commander';

/** `podbus emulator kubernetes`: filled in with the Kubernetes API emulator. */
export function registerKubernetesEmulatorCommand(_emulator: Command): void {}
