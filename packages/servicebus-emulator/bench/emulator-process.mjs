// The emulator alone in its own process, so the benchmark measures its memory and CPU without
// the rest of the podbus CLI (which loads the worker and Kubernetes client too). Requires
// `npm run build` (it runs the compiled dist/). Prints the connection string on its first line,
// serves until SIGTERM/SIGINT. Arguments: JSON of ServiceBusEmulatorOptions.
import { setInterval } from 'node:timers';

import { startServiceBusEmulator } from '@podbus/servicebus-emulator';

const options = JSON.parse(process.argv[2] ?? '{}');
// reduceMemoryWhenIdle: like `npx @podbus/servicebus-emulator`, whose process is the emulator's own
const emulator = await startServiceBusEmulator({ port: 0, reduceMemoryWhenIdle: true, ...options });
process.stdout.write(`${emulator.connectionString}\n`);
const stop = () => {
  emulator.stop().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
if (process.env.PODBUS_BENCH_MEMLOG) {
  setInterval(() => {
    const m = process.memoryUsage();
    const mib = (n) => `${(n / 1048576).toFixed(0)}M`;
    process.stderr.write(
      `[emulator] rss ${mib(m.rss)} heapUsed ${mib(m.heapUsed)} heapTotal ${mib(m.heapTotal)} external ${mib(m.external)} arrayBuffers ${mib(m.arrayBuffers)}\n`,
    );
  }, 2000).unref();
}
