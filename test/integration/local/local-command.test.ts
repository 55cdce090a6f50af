import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { runCli } from '../../unit/cli/support/run-cli.js';

const repo = new URL('../../../', import.meta.url).pathname;
const tsHooks = join(repo, 'test/support/ts-hooks.mjs');

describe('podbus local', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'podbus-local-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('runs the sample challenges end to end: pods for the valid ones, the DLQ for the rest', async () => {
    const run = await runCli(['local', '--exit-when-done', '--state-dir', stateDir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'All sample messages handled: 4 pods created (3 succeeded, 1 failed), 2 messages dead-lettered with a reason.',
    );
    expect(run.stdout).toMatch(/✗ sample-bad-image {2}dead-lettered: PolicyViolation: /);
    expect(run.stdout).toMatch(/✗ sample-not-json {2}dead-lettered: InvalidJson: /);
    expect(run.stdout).toMatch(/● local-\d\/sample-fails-401 +Failed \(exit 1\)/);
    // The worker config it wrote is a real podbus config.
    expect(await readFile(join(stateDir, 'podbus.yaml'), 'utf8')).toContain('allowedImages');
  });

  it('rejects bad flags with the flag named, exit 2', async () => {
    const run = await runCli(['local', '--clusters', 'many', '--state-dir', stateDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--clusters must be a whole number from 1 to 10, got "many"');
  });

  it('as a process: keeps running, kubectl sees its pods, Ctrl-C stops it cleanly', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        tsHooks,
        '--experimental-transform-types',
        '--conditions=podbus-source',
        '--disable-warning=ExperimentalWarning',
        join(repo, 'test/integration/local/run-podbus.ts'),
        'local',
        '--state-dir',
        stateDir,
      ],
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
      const { stdout: json } = await promisify(execFile)('kubectl', [
        '--kubeconfig',
        join(stateDir, 'kubeconfig'),
        '--context',
        context,
        'get',
        'pods',
        '-n',
        'challenges',
        '-o',
        'json',
      ]);
      const names = (JSON.parse(json) as { items: { metadata: { name: string } }[] }).items.map(
        (p) => p.metadata.name,
      );
      expect(names.length).toBeGreaterThan(0);
      expect(names.every((n) => n.startsWith('sample-'))).toBe(true);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stdout).toContain('Stopping: the worker drains, then the emulators stop.');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
