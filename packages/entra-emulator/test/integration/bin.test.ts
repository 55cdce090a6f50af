import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from '@jest/globals';

/**
 * The installed command, as `npx @podbus/entra-emulator` runs it: npm's bin link to
 * bin/entra-emulator.js, which runs the compiled dist/ (built by `npm ci` through the
 * workspace's prepare script, and by `npm pack` through prepack).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

describe('the entra-emulator command', () => {
  it('runs through npm exec with its own help and exit code', async () => {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['exec', '--offline', '--', 'entra-emulator', '--help'],
      { cwd: root, timeout: 60_000 },
    );
    expect(stdout).toContain('Usage: entra-emulator [options]');
    expect(stdout).toContain('Exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad flags');
  });

  it('exits 2 naming the flag', async () => {
    const run = promisify(execFile)(
      'npm',
      ['exec', '--offline', '--', 'entra-emulator', '--port', 'x'],
      {
        cwd: root,
        timeout: 60_000,
      },
    );
    await expect(run).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('entra-emulator: --port must be a whole number'),
    });
  });
});
