import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import { startKubernetesEmulator, type KubernetesEmulator } from '@podbus/kubernetes-emulator';
import { startServiceBusEmulator, type ServiceBusEmulator } from '@podbus/servicebus-emulator';
import { PODBUS_FROM_SOURCE } from '../../support/podbus-from-source.js';

const repo = new URL('../../../', import.meta.url).pathname;

describe('podbus run as a process: signals', () => {
  let sb: ServiceBusEmulator | undefined;
  let k8s: KubernetesEmulator | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await Promise.allSettled([sb?.stop(), k8s?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stops on the first SIGTERM while still waiting for a usable cluster', async () => {
    sb = await startServiceBusEmulator();
    // The only cluster is down from the start: its active pod count is never known, so with
    // maxActivePods set no cluster can take a pod and the worker never starts receiving.
    k8s = await startKubernetesEmulator({ clusters: [{ name: 'alpha', faults: { down: true } }] });
    const alpha = k8s.cluster('alpha');
    dir = await mkdtemp(join(tmpdir(), 'podbus-run-signals-'));
    const config = join(dir, 'podbus.yaml');
    await writeFile(
      config,
      stringify({
        clusters: [
          {
            name: 'alpha',
            server: alpha.server,
            token: alpha.serviceAccountToken,
            caFile: alpha.caFile,
            namespace: alpha.namespace,
            maxActivePods: 5,
          },
        ],
        policy: { allowedImages: ['*'] },
        http: { enabled: false },
      }),
    );
    const child = spawn(process.execPath, [...PODBUS_FROM_SOURCE, 'run', '--config', config], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PODBUS_SERVICE_BUS_CONNECTION_STRING: sb.connectionString },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes('not taking messages until a cluster can accept pods')) {
        if (Date.now() > deadline) throw new Error(`the worker never reached the gate:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), 30_000))),
      ]);
      clearTimeout(timer);
      expect(code).toBe(0);
      expect(output).toContain('"msg":"stopped"');
      expect(output).not.toContain('second signal');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
