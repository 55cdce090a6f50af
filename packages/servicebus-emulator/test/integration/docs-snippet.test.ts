import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { startServiceBusEmulator } from '../../src/index.js';
import type { ServiceBusEmulator } from '../../src/index.js';

/**
 * The package's README shows a plain-SDK snippet that sends and receives through the
 * emulator. This runs exactly that code block (read from the document, not copied) in a
 * separate Node process, so the document cannot drift from what works.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const README = join(root, 'README.md');

function snippet(name: string, file = README): string {
  const text = readFileSync(file, 'utf8');
  const marker = `<!-- snippet:${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${file} has no ${marker}`);
  const match = /```js\n([\s\S]*?)```/.exec(text.slice(at));
  if (!match?.[1]) throw new Error(`no js code block after ${marker}`);
  return match[1];
}

describe('README.md', () => {
  let emulator: ServiceBusEmulator;
  beforeAll(async () => {
    emulator = await startServiceBusEmulator();
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it('the SDK quick-start snippet sends and receives through the emulator', async () => {
    const code = snippet('sdk-quickstart');
    expect(code).toContain("from '@azure/service-bus'");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '--eval', code],
      {
        cwd: root, // resolves @azure/service-bus from the workspace's node_modules
        env: { ...process.env, SERVICEBUS_CONNECTION_STRING: emulator.connectionString },
        timeout: 30_000,
      },
    );
    expect(stdout).toBe(
      'received demo-1: {"ChallengeId":"demo","Containers":[{"Name":"nginx:1.27"}]}\n',
    );
    expect(emulator.inspect('challenges')).toEqual({
      active: 0,
      locked: 0,
      scheduled: 0,
      deferred: 0,
      deadLettered: 0,
    });
  });
});
