/**
 * Starts a k3s cluster in a container (@testcontainers/k3s) and writes its kubeconfig, so the
 * Kubernetes conformance suite can run against a real kube-apiserver:
 *
 *   node test/conformance/support/start-k3s.ts /tmp/k3s.kubeconfig   # keeps running
 *   PODBUS_CONFORMANCE_KUBECONFIG=/tmp/k3s.kubeconfig npm test -- test/conformance/kubernetes
 *
 * Needs Docker and pulling rancher/k3s (PODBUS_K3S_IMAGE overrides the image). Node 24 runs
 * this file directly (type stripping). Stops the container on Ctrl-C.
 */
import { writeFileSync } from 'node:fs';

import { K3sContainer } from '@testcontainers/k3s';

const path = process.argv[2] ?? '/tmp/k3s.kubeconfig';
const image = process.env.PODBUS_K3S_IMAGE ?? 'rancher/k3s:v1.32.4-k3s1';
console.log(`starting ${image} ...`);
const k3s = await new K3sContainer(image).start();
writeFileSync(path, k3s.getKubeConfig(), { mode: 0o600 });
console.log(`kubeconfig written to ${path}; Ctrl-C stops the cluster`);
await new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});
await k3s.stop();
