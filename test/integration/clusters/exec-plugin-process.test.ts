// The credential plugin runner against real processes: the bound on how long a cluster's calls
// can wait for a plugin must hold whatever the plugin does with its signals and its pipes.
import { describe, expect, it } from '@jest/globals';

import { MAX_PLUGIN_OUTPUT_BYTES, runCommand } from '../../../src/clusters/exec-plugin-process.js';
import { ExecTokenSource } from '../../../src/clusters/exec-token-source.js';

const env = { PATH: process.env.PATH };

/** True while any process of the group led by the shell that printed `pid` is alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('runCommand (credential plugin processes)', () => {
  it('returns what the plugin printed and its exit code', async () => {
    const result = await runCommand(
      'sh',
      ['-c', 'printf out; printf err >&2; exit 3'],
      env,
      10_000,
    );
    expect(result).toEqual({ code: 3, stdout: 'out', stderr: 'err' });
  });

  it('answers at the deadline when the plugin ignores SIGTERM, then kills its whole group', async () => {
    // The plugin shell ignores SIGTERM and leaves a grandchild holding stdout open: neither
    // execFile's timeout nor waiting for 'close' would ever end this.
    const result = await runCommand(
      'sh',
      ['-c', "trap '' TERM; echo $$; sleep 60 & sleep 60"],
      env,
      500,
    );
    expect(result.error?.code).toBe('ETIMEDOUT');
    const pid = Number(result.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    await until(() => !groupAlive(pid));
  }, 15_000);

  it('stops reading a plugin that prints without end', async () => {
    const result = await runCommand('sh', ['-c', 'yes podbus'], env, 30_000);
    expect(result.error?.code).toBe('ENOBUFS');
    expect(result.stdout.length).toBeLessThanOrEqual(MAX_PLUGIN_OUTPUT_BYTES);
  }, 35_000);

  it('reports a command that does not exist', async () => {
    const result = await runCommand('podbus-no-such-plugin', [], env, 10_000);
    expect(result.error?.code).toBe('ENOENT');
  });

  it('reports a plugin ended by a signal', async () => {
    const result = await runCommand('sh', ['-c', 'kill -KILL $$'], env, 10_000);
    expect(result.error?.code).toBe('ESIGNAL');
    expect(result.error?.message).toBe('ended by SIGKILL');
  });
});

describe('ExecTokenSource with a real hung plugin', () => {
  it('fails every waiting caller with the timeout, not after the plugin ends', async () => {
    const source = new ExecTokenSource({
      cluster: 'aks',
      server: 'https://aks.example',
      auth: {
        type: 'exec',
        command: 'sh',
        args: ['-c', "trap '' TERM; sleep 60"],
        env: {},
        apiVersion: 'client.authentication.k8s.io/v1',
        provideClusterInfo: false,
        timeoutSeconds: 1,
      },
      env,
    });
    const both = await Promise.allSettled([source.current(), source.current()]);
    for (const outcome of both) {
      expect(outcome.status).toBe('rejected');
      expect(String((outcome as PromiseRejectedResult).reason)).toContain(
        'exec plugin sh: did not finish within 1 s',
      );
    }
  }, 15_000);
});
