// Both emulators in one process of their own, so the benchmark's worker process competes with
// them only for CPU, not for an event loop. Requires `npm run build` (runs the compiled dist/).
// Prints one JSON line describing the stack, serves until SIGTERM/SIGINT.
import { startKubernetesEmulator } from '@podbus/kubernetes-emulator';
import { startServiceBusEmulator } from '@podbus/servicebus-emulator';

const serviceBus = await startServiceBusEmulator({ port: 0 });
const kubernetes = await startKubernetesEmulator({
  clusters: [{ name: 'bench-1' }, { name: 'bench-2' }].map((c) => ({
    ...c,
    nodeCapacityPods: 1_000_000,
    // Pods stay Running: the benchmark measures pod creation, not the simulated kubelet.
    lifecycle: { scheduleMs: 10, startMs: 10, runMs: 3_600_000 },
  })),
});
process.stdout.write(
  `${JSON.stringify({
    connectionString: serviceBus.connectionString,
    clusters: kubernetes.clusters.map((c) => ({
      name: c.name,
      server: c.server,
      caFile: c.caFile,
      token: c.serviceAccountToken,
      namespace: c.namespace,
    })),
  })}\n`,
);
const stop = async () => {
  await Promise.allSettled([serviceBus.stop(), kubernetes.stop()]);
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
