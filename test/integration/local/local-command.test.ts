import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { runCli } from '../../unit/cli/support/run-cli.js';
import { PODBUS_FROM_SOURCE } from '../../support/podbus-from-source.js';

const repo = new URL('../../../', import.meta.url).pathname;

describe('podbus local', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'podbus-local-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('runs the sample challenges end to end: pods, their results and cleanup, the DLQ for the rest', async () => {
    const run = await runCli(['local', '--exit-when-done', '--state-dir', stateDir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'All sample messages handled: 5 pods created, 5 results received (3 succeeded, 1 failed, 1 image-pull-failed), 5 pods cleaned up, 2 messages dead-lettered with a reason.',
    );
    expect(run.stdout).toMatch(/✗ sample-bad-image {2}dead-lettered: PolicyViolation: /);
    expect(run.stdout).toMatch(/✗ sample-not-json {2}dead-lettered: InvalidJson: /);
    expect(run.stdout).toMatch(/● local-\d\/sample-fails-401 +Failed \(exit 1\)/);
    // Each result comes back, then its pod is cleaned up.
    expect(run.stdout).toMatch(
      /↩ sample-fails-401 {2}result: failed \(exit 1\) from local-\d\/sample-fails-401 after /,
    );
    expect(run.stdout).toMatch(
      /↩ sample-never-starts {2}result: image-pull-failed \((ErrImagePull|ImagePullBackOff)\) from /,
    );
    for (const id of [
      'sample-web-101',
      'sample-net-201',
      'sample-k8s-301',
      'sample-fails-401',
      'sample-never-starts',
    ]) {
      const result = run.stdout.indexOf(`↩ ${id}  result:`);
      const cleaned = run.stdout.search(new RegExp(`✂ local-\\d/${id} +deleted by cleanup`));
      expect({ id, result: result >= 0, cleanedAfter: cleaned > result }).toEqual({
        id,
        result: true,
        cleanedAfter: true,
      });
    }
    // The worker config it wrote is a real podbus config.
    expect(await readFile(join(stateDir, 'podbus.yaml'), 'utf8')).toContain('allowedImages');
  });

  it('rejects bad flags with the flag named, exit 2', async () => {
    const run = await runCli(['local', '--clusters', 'many', '--state-dir', stateDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--clusters must be a whole number from 1 to 10, got "many"');
  });

  it('as a process: keeps running, kubectl sees what it did, Ctrl-C stops it cleanly', async () => {
    const child = spawn(
      process.execPath,
      [...PODBUS_FROM_SOURCE, 'local', '--state-dir', stateDir],
      { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    try {
      const deadline = Date.now() + 60_000;
      while (!stdout.includes('Still running. Press Ctrl-C to stop.')) {
        if (Date.now() > deadline)
          throw new Error(`podbus local never finished the samples:\n${stdout}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const context = /--context (\S+)/.exec(stdout)![1]!;
      const kubectl = async (...args: string[]) =>
        (
          await promisify(execFile)('kubectl', [
            '--kubeconfig',
            join(stateDir, 'kubeconfig'),
            '--context',
            context,
            ...args,
          ])
        ).stdout;
      // The sample pods are gone (cleaned up after their results); the worker holds the
      // cluster's results lease, and the cluster's events tell what happened to the pods.
      const pods = JSON.parse(await kubectl('get', 'pods', '-n', 'challenges', '-o', 'json')) as {
        items: unknown[];
      };
      expect(pods.items).toEqual([]);
      const lease = JSON.parse(
        await kubectl('get', 'lease', 'podbus-results', '-n', 'challenges', '-o', 'json'),
      ) as { spec: { holderIdentity: string } };
      expect(lease.spec.holderIdentity).not.toBe('');
      expect(await kubectl('get', 'events', '-n', 'challenges')).toMatch(/Started\s+pod\/sample-/);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stdout).toContain('Stopping: the worker drains, then the emulators stop.');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
