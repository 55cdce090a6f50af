/**
 * The Service Bus emulator alone in a child process of the benchmark, so that its CPU and
 * memory are its own. Sends its connection string over IPC; stops on 'stop' or SIGTERM.
 * Runs the compiled package (`npm run build` first).
 */
import { startServiceBusEmulator } from '@podbus/servicebus-emulator';

const emulator = await startServiceBusEmulator({ port: 0 });
process.send!({ connectionString: emulator.connectionString });

const stop = () => void emulator.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.on('message', stop);
