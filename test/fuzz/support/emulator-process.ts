import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

import { PODBUS_FROM_SOURCE } from '../../support/podbus-from-source.js';

/** The Service Bus emulator in a process of its own: what a test needs to reach it. */
export interface EmulatorProcess {
  readonly connectionString: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * `podbus emulator servicebus --port 0`, from the TypeScript sources. A separate process keeps
 * the emulator's rhea apart from the SDK's: in one process they share rhea's module state, and
 * the emulator's link handling writes into rhea's one shared empty-list value (types.js
 * `define_type('List0', 0x45, undefined, [])`), after which every empty AMQP list the SDK decodes
 * in that process comes out as 11 nulls. The worker never shares a process with the emulator.
 */
export async function startServiceBusEmulatorProcess(): Promise<EmulatorProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...PODBUS_FROM_SOURCE, 'emulator', 'servicebus', '--port', '0', '--host', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const connectionString = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => reject(new Error('the Service Bus emulator process exited')));
  });
  const port = Number(/sb:\/\/[^:;]+:(\d+)/.exec(connectionString)?.[1]);
  return {
    connectionString,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
