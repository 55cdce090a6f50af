import { readFileSync } from 'node:fs';

import { describe, expect, test } from '@jest/globals';

import { runCli } from './support/run-cli.js';

const COMMANDS = [
  ['run'],
  ['local'],
  ['emulator'],
  ['emulator', 'servicebus'],
  ['emulator', 'kubernetes'],
  ['enqueue'],
  ['dlq'],
  ['dlq', 'list'],
  ['dlq', 'show'],
  ['dlq', 'resubmit'],
  ['dlq', 'purge'],
  ['clusters'],
  ['clusters', 'add'],
  ['clusters', 'verify'],
  ['status'],
];

describe('--help on every operator command', () => {
  test.each(COMMANDS.map((c): [string, string[]] => [c.join(' '), c]))(
    'podbus %s --help: examples and exit codes',
    async (_name, command) => {
      const run = await runCli([...command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: podbus ${command.join(' ')}`);
      expect(run.stdout).toContain('Examples:');
      if (command.length > 1 || ['enqueue', 'run', 'local', 'status'].includes(command[0]!))
        expect(run.stdout).toMatch(/Exit codes: 0 /);
    },
  );

  test('--version prints the version from package.json (also where npm is not around)', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });

  test('the root help lists them', async () => {
    const run = await runCli(['--help']);
    for (const name of ['enqueue', 'dlq', 'status', 'clusters'])
      expect(run.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });
});

describe('usage errors exit 2 and name the flag', () => {
  test.each([
    [
      ['enqueue', '--challenge', 'c', '--image', 'i', '--count', 'many'],
      '--count must be a whole number',
    ],
    [
      ['enqueue', '--challenge', 'c', '--image', 'i', '--seed-form', '--label', 'a=b'],
      '--seed-form cannot carry --cluster or --label',
    ],
    [['enqueue', '--image', 'i'], '--image needs --challenge ID'],
    [['enqueue', '--challenge', 'c'], '--challenge needs at least one --image IMAGE'],
    [
      ['enqueue', '--file', '/nonexistent/x.jsonl'],
      '--file /nonexistent/x.jsonl: cannot read it: no such file or directory',
    ],
    [['dlq', 'list', '--max', '0'], '--max must be a whole number from 1 to 100000'],
    [['clusters', 'add', 'x'], "required option '--context <context>' not specified"],
    [
      ['clusters', 'add', 'x', '--context', 'c'],
      'say which clusters file to write: --clusters-file PATH',
    ],
    [
      ['clusters', 'add', 'x', '--context', 'c', '--clusters-file', 'f', '--namespace', 'Bad'],
      '--namespace must be a DNS-1123 label',
    ],
    [
      ['clusters', 'add', 'x', '--context', 'c', '--clusters-file', 'f', '--weight', '0'],
      '--weight must be a whole number of at least 1',
    ],
    [
      ['clusters', 'verify', '--timeout', 'x', '--clusters-file', 'f'],
      '--timeout must be a whole number of at least 1',
    ],
    [['dlq', 'frobnicate'], "unknown command 'frobnicate'"],
    [['status'], "missing required argument 'messageId'"],
    [
      ['status', 'run-1', '--peek-limit', '0'],
      '--peek-limit must be a whole number from 1 to 100000',
    ],
    [['status', 'run-1', '--timeout', 'soon'], '--timeout must be a whole number from 1 to 3600'],
    [
      ['status', 'run-1', '--clusters-file', '/nonexistent/clusters.yaml'],
      'clustersFile: cannot read "/nonexistent/clusters.yaml"',
    ],
    // Passed through to the emulator packages, which name the flag in podbus's terms.
    [
      ['emulator', 'servicebus', '--port', 'x'],
      'podbus emulator servicebus: --port must be an integer between 0 and 65535, got "x"',
    ],
    [
      ['emulator', 'kubernetes', '--clusters', '0'],
      'podbus emulator kubernetes: --clusters must be an integer between 1 and 32, got "0"',
    ],
  ])('podbus %j', async (args, message) => {
    const run = await runCli(args, {
      env: {
        PODBUS_SERVICE_BUS_CONNECTION_STRING:
          'Endpoint=sb://localhost;SharedAccessKeyName=a;SharedAccessKey=b',
      },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
  });
});
