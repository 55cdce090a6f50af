import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from '@jest/globals';

/**
 * The installed command, as `npx @podbus/kubernetes-emulator` runs it: npm's bin link to
 * bin/kubernetes-emulator.js, which runs the compiled dist/ (built by `npm ci` through the
 * workspace's prepare script, and by `npm pack` through prepack).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

describe('the kubernetes-emulator command', () => {
  it('runs through npm exec with its own help and exit code', async () => {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['exec', '--offline', '--', 'kubernetes-emulator', '--help'],
      { cwd: root, timeout: 60_000 },
    );
    expect(stdout).toContain('Usage: kubernetes-emulator [options]');
    expect(stdout).toContain('Exit codes: 0 stopped by SIGINT/SIGTERM');
  });

  it('exits 2 naming the flag', async () => {
    const run = promisify(execFile)(
      'npm',
      ['exec', '--offline', '--', 'kubernetes-emulator', '--clusters', '0'],
      {
        cwd: root,
        timeout: 60_000,
      },
    );
    await expect(run).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('kubernetes-emulator: --clusters must be an integer'),
    });
  });
});
