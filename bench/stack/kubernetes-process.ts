/**
 * The Kubernetes API emulator alone in a child process of the benchmark, so that its CPU and
 * memory are its own. argv[2]: JSON `{ clusters: number, latencyMs: number }`. Sends the
 * clusters' addresses and credentials over IPC; stops on 'stop' or SIGTERM.
 * Runs the compiled package (`npm run build` first).
 */
import { startKubernetesEmulator } from '@podbus/kubernetes-emulator';

const { clusters, latencyMs } = JSON.parse(process.argv[2]!) as {
  clusters: number;
  latencyMs: number;
};
const emulator = await startKubernetesEmulator({
  clusters: Array.from({ length: clusters }, (_, i) => ({
    name: `bench-${i + 1}`,
    nodeCapacityPods: 1_000_000,
    // Pods stay Running: the benchmark measures pod creation, not the simulated kubelet.
    lifecycle: { scheduleMs: 10, startMs: 10, runMs: 3_600_000 },
    // Every API request waits this long: the time an AKS API server takes to answer.
    ...(latencyMs > 0 && { faults: { latencyMs } }),
  })),
});
process.send!(
  emulator.clusters.map((c) => ({
    name: c.name,
    server: c.server,
    caFile: c.caFile,
    caPem: c.caPem,
    token: c.serviceAccountToken,
    namespace: c.namespace,
  })),
);

const stop = () => void emulator.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.on('message', stop);
