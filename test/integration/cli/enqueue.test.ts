/**
 * `podbus enqueue` against the Service Bus emulator, in-process (main([...argv])) with the real
 * SDK: single, seed form, bulk from a file and from stdin, --count; invalid input and missing
 * configuration exit 2 and send nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';

import { startServiceBusEmulator, type ServiceBusEmulator } from '@podbus/servicebus-emulator';
import { runCli } from '../../unit/cli/support/run-cli.js';

let sb: ServiceBusEmulator;
let client: ServiceBusClient;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  sb = await startServiceBusEmulator({});
  client = new ServiceBusClient(sb.connectionString);
  dir = await mkdtemp(join(tmpdir(), 'podbus-enqueue-it-'));
  env = { PODBUS_SERVICE_BUS_CONNECTION_STRING: sb.connectionString };
});

afterAll(async () => {
  await client?.close();
  await sb?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Takes every message off the queue (receiveAndDelete), in order. */
async function drain(expected: number): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver('challenges', {
    receiveMode: 'receiveAndDelete',
    skipParsingBodyAsJson: true,
  });
  const got: ServiceBusReceivedMessage[] = [];
  try {
    while (got.length < expected) {
      const batch = await receiver.receiveMessages(expected - got.length, {
        maxWaitTimeInMs: 2000,
      });
      if (batch.length === 0) break;
      got.push(...batch);
    }
  } finally {
    await receiver.close();
  }
  expect(sb.inspect('challenges').active).toBe(0);
  return got;
}

const bodyOf = (m: ServiceBusReceivedMessage): unknown =>
  JSON.parse(Buffer.from(m.body as Uint8Array).toString('utf8'));
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

describe('single message from flags', () => {
  test('camelCase body with the given messageId, cluster and labels; the ID on stdout', async () => {
    const run = await runCli(
      [
        'enqueue',
        '--challenge',
        'web-101',
        '--image',
        'registry.example/challenges/web:1',
        '--image',
        'registry.example/challenges/db:1',
        '--message-id',
        'run-1',
        '--cluster',
        'alpha',
        '--label',
        'course=k8s',
      ],
      { env },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('run-1\n');
    expect(run.stderr).toContain('enqueued 1 message on queue "challenges"');
    const [m, ...rest] = await drain(1);
    expect(rest).toHaveLength(0);
    expect(m?.messageId).toBe('run-1');
    expect(m?.contentType).toBe('application/json');
    expect(bodyOf(m!)).toEqual({
      challengeId: 'web-101',
      containers: [
        { image: 'registry.example/challenges/web:1' },
        { image: 'registry.example/challenges/db:1' },
      ],
      cluster: 'alpha',
      labels: { course: 'k8s' },
    });
  });

  test("--seed-form sends the seed's PascalCase body; without --message-id a UUID is used", async () => {
    const run = await runCli(
      ['enqueue', '--challenge', 'web-1', '--image', 'nginx', '--seed-form'],
      { env },
    );
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const [m] = await drain(1);
    expect(m?.messageId).toBe(id);
    expect(bodyOf(m!)).toEqual({ ChallengeId: 'web-1', Containers: [{ Name: 'nginx' }] });
  });
});

describe('bulk', () => {
  test('--file: bodies and envelopes, comments and blank lines skipped, IDs in input order', async () => {
    const file = join(dir, 'ok.jsonl');
    await writeFile(
      file,
      [
        '# three challenges',
        '{"ChallengeId":"web-101","Containers":[{"Name":"nginx"}]}',
        '',
        '{"messageId":"run-b","body":{"challengeId":"k8s-1","containers":[{"image":"busybox","args":["true"]}]}}',
        '  {"messageId":"run-c","body":{"challengeId":"k8s-2","containers":[{"image":"busybox"}]}}  ',
      ].join('\n'),
    );
    const run = await runCli(['enqueue', '--file', file], { env });
    expect(run.code).toBe(0);
    const ids = lines(run.stdout);
    expect(ids).toHaveLength(3);
    expect(ids.slice(1)).toEqual(['run-b', 'run-c']);
    expect(run.stderr).toContain('3/3 sent');
    const got = await drain(3);
    expect(got.map((m) => m.messageId)).toEqual(ids);
    expect(bodyOf(got[0]!)).toEqual({ ChallengeId: 'web-101', Containers: [{ Name: 'nginx' }] });
    expect(bodyOf(got[1]!)).toEqual({
      challengeId: 'k8s-1',
      containers: [{ image: 'busybox', args: ['true'] }],
    });
  });

  test('--file - reads stdin', async () => {
    const stdin =
      '{"messageId":"in-1","body":{"challengeId":"a","containers":[{"image":"nginx"}]}}\n' +
      '{"messageId":"in-2","body":{"challengeId":"b","containers":[{"image":"nginx"}]}}\n';
    const run = await runCli(['enqueue', '--file', '-'], { env, stdin });
    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toEqual(['in-1', 'in-2']);
    expect((await drain(2)).map((m) => m.messageId)).toEqual(['in-1', 'in-2']);
  });

  test('--count sends n copies with IDs <id>-1..n, in batches, progress bar on a terminal', async () => {
    const run = await runCli(
      [
        'enqueue',
        '--challenge',
        'load',
        '--image',
        'nginx',
        '--message-id',
        'load',
        '--count',
        '250',
      ],
      { env, tty: true },
    );
    expect(run.code).toBe(0);
    const ids = lines(run.stdout);
    expect(ids).toEqual(Array.from({ length: 250 }, (_, i) => `load-${i + 1}`));
    expect(run.stderr).toMatch(/\r\[#+\] 250\/250 sent\n/);
    const got = await drain(250);
    expect(new Set(got.map((m) => m.messageId))).toEqual(new Set(ids));
    expect(bodyOf(got[0]!)).toEqual({ challengeId: 'load', containers: [{ image: 'nginx' }] });
  });
});

describe('nothing is sent when anything is wrong (exit 2)', () => {
  test('an invalid line: every problem with its line number, queue stays empty', async () => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(
      file,
      [
        '{"challengeId":"ok","containers":[{"image":"nginx"}]}',
        '{"challengeId":"web-105","containers":[{"image":42}]}',
        'not json',
        '{"ChallengeId":"web-104","containers":[{"image":"nginx"}]}',
      ].join('\n'),
    );
    const run = await runCli(['enqueue', '--file', file], { env });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('line 3: not valid JSON');
    // JSON problems are reported first; fix them and the schema problems follow.
    const fixed = join(dir, 'bad2.jsonl');
    await writeFile(
      fixed,
      [
        '{"challengeId":"ok","containers":[{"image":"nginx"}]}',
        '{"challengeId":"web-105","containers":[{"image":42}]}',
        '{"ChallengeId":"web-104","containers":[{"image":"nginx"}]}',
        '{"messageId":"dup","body":{"challengeId":"a","containers":[{"image":"nginx"}]}}',
        '{"messageId":"dup","body":{"challengeId":"b","containers":[{"image":"nginx"}]}}',
      ].join('\n'),
    );
    const second = await runCli(['enqueue', '--file', fixed], { env });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('line 2: /containers/0/image must be a string, not an integer');
    expect(second.stderr).toContain('line 3: the message mixes the seed form');
    expect(second.stderr).toContain('line 5: messageId "dup" is also used on line 4');
    expect(second.stderr).toContain('nothing was sent');
    expect(sb.inspect('challenges').active).toBe(0);
  });

  test('a bad flag value names the flag', async () => {
    const run = await runCli(
      ['enqueue', '--challenge', 'x', '--image', 'nginx', '--cluster', 'Not_A_Name'],
      { env },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--cluster must be a cluster name');
    expect(sb.inspect('challenges').active).toBe(0);
  });

  test('no connection string: exit 2 naming PODBUS_SERVICE_BUS_CONNECTION_STRING', async () => {
    const run = await runCli(['enqueue', '--challenge', 'x', '--image', 'nginx'], { env: {} });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('serviceBus: needs connectionString or fullyQualifiedNamespace');
    expect(run.stderr).toContain('PODBUS_SERVICE_BUS_CONNECTION_STRING');
    expect(sb.inspect('challenges').active).toBe(0);
  });

  test('nothing to send, or conflicting flags', async () => {
    expect((await runCli(['enqueue'], { env })).stderr).toContain('say what to send');
    const both = await runCli(['enqueue', '--file', '-', '--challenge', 'x'], { env, stdin: '' });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--file cannot be combined with --challenge');
    const count = await runCli(['enqueue', '--challenge', 'x', '--image', 'y', '--count', '0'], {
      env,
    });
    expect(count.stderr).toContain('--count must be a whole number from 1 to 100000, got "0"');
  });
});

describe('Service Bus failures (exit 1)', () => {
  test('a queue that does not exist', async () => {
    const run = await runCli(
      ['enqueue', '--challenge', 'x', '--image', 'nginx', '--queue', 'nope'],
      { env },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('queue "nope" does not exist');
    expect(run.stderr).toContain('nothing was sent');
    expect(run.stderr).not.toContain('SAS_KEY_VALUE');
  });
});
