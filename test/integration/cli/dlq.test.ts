/**
 * `podbus dlq list|show|resubmit|purge` against the Service Bus emulator, in-process. Messages
 * are dead-lettered through the real SDK first, with reasons and descriptions as the worker
 * sets them.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';

import { startServiceBusEmulator, type ServiceBusEmulator } from '@podbus/servicebus-emulator';
import { runCli } from '../../unit/cli/support/run-cli.js';

const QUEUES = ['list', 'resubmit', 'purge'];
let sb: ServiceBusEmulator;
let client: ServiceBusClient;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  sb = await startServiceBusEmulator({
    config: {
      UserConfig: {
        Namespaces: [
          {
            Name: 'sbemulatorns',
            Queues: QUEUES.map((Name) => ({ Name, Properties: { MaxDeliveryCount: 10 } })),
          },
        ],
      },
    },
  });
  client = new ServiceBusClient(sb.connectionString);
  env = { PODBUS_SERVICE_BUS_CONNECTION_STRING: sb.connectionString };
});

afterAll(async () => {
  await client?.close();
  await sb?.stop();
});

interface Dead {
  id: string;
  body: unknown;
  reason: string;
  description: string;
  properties?: Record<string, string>;
  /** Abandon once with podbus-last-error before dead-lettering (as the worker does). */
  lastError?: string;
}

/** Sends the messages and dead-letters each of them with its reason, as the worker would. */
async function deadLetter(queue: string, messages: Dead[]): Promise<void> {
  const sender = client.createSender(queue);
  await sender.sendMessages(
    messages.map((m) => ({
      messageId: m.id,
      body: Buffer.from(typeof m.body === 'string' ? m.body : JSON.stringify(m.body)),
      contentType: 'application/json',
      ...(m.properties && { applicationProperties: m.properties }),
    })),
  );
  await sender.close();
  const receiver = client.createReceiver(queue, { skipParsingBodyAsJson: true });
  const pending = new Map(messages.map((m) => [m.id, m]));
  while (pending.size > 0) {
    const batch = await receiver.receiveMessages(pending.size, { maxWaitTimeInMs: 2000 });
    if (batch.length === 0) throw new Error(`missing ${[...pending.keys()].join(', ')}`);
    for (const got of batch) {
      const m = pending.get(String(got.messageId));
      if (!m) throw new Error(`unexpected ${String(got.messageId)}`);
      if (m.lastError !== undefined && (got.deliveryCount ?? 0) === 0) {
        await receiver.abandonMessage(got, { 'podbus-last-error': m.lastError });
        continue;
      }
      await receiver.deadLetterMessage(got, {
        deadLetterReason: m.reason,
        deadLetterErrorDescription: m.description,
      });
      pending.delete(m.id);
    }
  }
  await receiver.close();
}

async function receiveAll(queue: string, dlq = false): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(queue, {
    receiveMode: 'receiveAndDelete',
    skipParsingBodyAsJson: true,
    ...(dlq && { subQueueType: 'deadLetter' as const }),
  });
  const got: ServiceBusReceivedMessage[] = [];
  for (;;) {
    const batch = await receiver.receiveMessages(50, { maxWaitTimeInMs: 500 });
    if (batch.length === 0) break;
    got.push(...batch);
  }
  await receiver.close();
  return got;
}

const camel = (challengeId: string): unknown => ({ challengeId, containers: [{ image: 'nginx' }] });
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

describe('list and show (peek only)', () => {
  const longDescription = `/containers/0/image "docker.io/someone/miner:latest" is not allowed: ${'x'.repeat(150)} end`;
  beforeAll(async () => {
    await deadLetter('list', [
      {
        id: 'bad-json',
        body: 'not json {',
        reason: 'InvalidJson',
        description: 'the body is not JSON',
      },
      {
        id: 'miner',
        body: camel('crypto-1'),
        reason: 'PolicyViolation',
        description: longDescription,
      },
      {
        id: 'seed-conflict',
        body: { ChallengeId: 'web-101', Containers: [{ Name: 'nginx' }] },
        reason: 'MessageIdConflict',
        description: 'pod seed-conflict exists with another request',
        properties: { team: 'blue' },
        lastError: 'cluster alpha: request timed out',
      },
    ]);
  });

  test('--json: every field; nothing is removed', async () => {
    const run = await runCli(['dlq', 'list', '--json', '--queue', 'list'], { env });
    expect(run.code).toBe(0);
    const items = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(items.map((i) => i.messageId)).toEqual(['bad-json', 'miner', 'seed-conflict']);
    expect(items[0]).toMatchObject({
      deadLetterReason: 'InvalidJson',
      deadLetterErrorDescription: 'the body is not JSON',
      deliveryCount: expect.any(Number),
      sequenceNumber: expect.any(String),
      enqueuedTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(items[0]).not.toHaveProperty('challengeId');
    expect(items[1]).toMatchObject({
      challengeId: 'crypto-1',
      deadLetterErrorDescription: longDescription,
    });
    expect(items[2]).toMatchObject({
      challengeId: 'web-101',
      deadLetterReason: 'MessageIdConflict',
      lastError: 'cluster alpha: request timed out',
    });
    expect(run.stderr).toContain('3 dead-lettered messages in list/$deadletterqueue');
    expect(sb.inspect('list').deadLettered).toBe(3);
  });

  test('a table: whole cells when piped, fitted to the terminal with "…" on a TTY', async () => {
    const piped = await runCli(['dlq', 'list', '--queue', 'list'], { env });
    expect(piped.code).toBe(0);
    const [header, ...rows] = lines(piped.stdout);
    expect(header).toMatch(
      /^MESSAGE ID\s+ENQUEUED\s+REASON\s+DESCRIPTION\s+CHALLENGE\s+DELIVERIES$/,
    );
    expect(rows).toHaveLength(3);
    expect(piped.stdout).toContain(longDescription);

    const tty = await runCli(['dlq', 'list', '--queue', 'list'], { env, tty: true, columns: 110 });
    const ttyLines = lines(tty.stdout);
    expect(ttyLines.every((l) => [...l].length <= 110)).toBe(true);
    expect(tty.stdout).not.toContain(longDescription);
    expect(ttyLines.find((l) => l.startsWith('miner'))).toMatch(
      /PolicyViolation\s+\/containers\/0\/image .*…\s+crypto-1\s+\d+$/,
    );

    const max = await runCli(['dlq', 'list', '--queue', 'list', '--max', '2', '--json'], { env });
    expect(JSON.parse(max.stdout)).toHaveLength(2);
    expect(max.stderr).toContain('--max shows more');
  });

  test('show ID prints the message in full; an unknown ID exits 1', async () => {
    const run = await runCli(['dlq', 'show', 'seed-conflict', '--queue', 'list'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Message ID:      seed-conflict');
    expect(run.stdout).toContain('Reason:          MessageIdConflict');
    expect(run.stdout).toContain('Description:     pod seed-conflict exists with another request');
    expect(run.stdout).toContain('Last error:      cluster alpha: request timed out');
    expect(run.stdout).toContain('  team: blue');
    expect(run.stdout).not.toContain('  DeadLetterReason:');
    expect(run.stdout).toContain('Body:\n  {\n    "ChallengeId": "web-101",');

    const invalid = await runCli(['dlq', 'show', 'bad-json', '--queue', 'list', '--json'], { env });
    expect(JSON.parse(invalid.stdout)).toMatchObject({
      messageId: 'bad-json',
      body: { text: 'not json {' },
    });

    const missing = await runCli(['dlq', 'show', 'nope', '--queue', 'list'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      'no dead-lettered message with ID "nope" in list/$deadletterqueue',
    );
    expect(sb.inspect('list').deadLettered).toBe(3);
  });
});

describe('resubmit', () => {
  test('moves exactly the selected messages back, same ID, body and properties, DLQ properties stripped', async () => {
    await deadLetter('resubmit', [
      {
        id: 'r-1',
        body: camel('a'),
        reason: 'PolicyViolation',
        description: 'not allowed',
        properties: { team: 'red' },
        lastError: 'timeout',
      },
      { id: 'r-2', body: camel('b'), reason: 'PodRejected', description: 'quota' },
      { id: 'r-3', body: camel('c'), reason: 'MessageIdConflict', description: 'other request' },
      { id: 'r-4', body: camel('d'), reason: 'PolicyViolation', description: 'not allowed' },
    ]);
    const run = await runCli(['dlq', 'resubmit', 'r-1', 'r-3', 'missing', '--queue', 'resubmit'], {
      env,
    });
    // "missing" is not there: exit 1, but the others were resubmitted.
    expect(run.code).toBe(1);
    expect(lines(run.stdout).sort()).toEqual(['r-1', 'r-3']);
    expect(run.stderr).toContain('no dead-lettered message with ID "missing"');
    expect(run.stderr).toContain('warning: "r-3" was dead-lettered as MessageIdConflict');
    expect(run.stderr).toContain('resubmitted 2 messages to queue "resubmit"');

    const back = await receiveAll('resubmit');
    expect(back.map((m) => m.messageId).sort()).toEqual(['r-1', 'r-3']);
    const r1 = back.find((m) => m.messageId === 'r-1')!;
    expect(JSON.parse(Buffer.from(r1.body as Uint8Array).toString())).toEqual(camel('a'));
    expect(r1.contentType).toBe('application/json');
    expect(r1.applicationProperties).toEqual({ team: 'red' });
    expect(r1.deadLetterReason).toBeUndefined();

    const left = await runCli(['dlq', 'list', '--json', '--queue', 'resubmit'], { env });
    expect((JSON.parse(left.stdout) as { messageId: string }[]).map((m) => m.messageId)).toEqual([
      'r-2',
      'r-4',
    ]);

    const all = await runCli(['dlq', 'resubmit', '--all', '--queue', 'resubmit'], { env });
    expect(all.code).toBe(0);
    expect(lines(all.stdout).sort()).toEqual(['r-2', 'r-4']);
    expect(sb.inspect('resubmit')).toMatchObject({ active: 2, deadLettered: 0 });
    expect((await receiveAll('resubmit')).map((m) => m.messageId).sort()).toEqual(['r-2', 'r-4']);

    const empty = await runCli(['dlq', 'resubmit', '--all', '--queue', 'resubmit'], { env });
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('is empty; nothing to resubmit');
  });

  test('a queue that does not exist: exit 1 with what to check', async () => {
    const run = await runCli(['dlq', 'list', '--queue', 'nope'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('queue "nope" does not exist in this namespace: check --queue');
  });

  test('usage: IDs or --all, not both, not neither', async () => {
    expect((await runCli(['dlq', 'resubmit', '--queue', 'resubmit'], { env })).code).toBe(2);
    const both = await runCli(['dlq', 'resubmit', 'x', '--all', '--queue', 'resubmit'], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give message IDs or --all, not both');
  });
});

describe('purge', () => {
  beforeAll(async () => {
    await deadLetter('purge', [
      { id: 'p-1', body: camel('a'), reason: 'SchemaViolation', description: 'x' },
      { id: 'p-2', body: camel('b'), reason: 'SchemaViolation', description: 'y' },
      { id: 'p-3', body: camel('c'), reason: 'SchemaViolation', description: 'z' },
    ]);
  });

  test('refuses without --yes when stdin is not a terminal; asks on a terminal', async () => {
    const refused = await runCli(['dlq', 'purge', '--queue', 'purge'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('pass --yes');
    const questions: string[] = [];
    const declined = await runCli(['dlq', 'purge', '--queue', 'purge'], {
      env,
      tty: true,
      confirm: false,
      questions,
    });
    expect(declined.code).toBe(0);
    expect(questions).toEqual([
      'Delete 3 dead-lettered messages from purge/$deadletterqueue for good?',
    ]);
    expect(declined.stderr).toContain('nothing was deleted');
    expect(sb.inspect('purge').deadLettered).toBe(3);
  });

  test('deletes the selected messages, then the rest with --yes', async () => {
    const one = await runCli(['dlq', 'purge', 'p-2', '--queue', 'purge'], {
      env,
      tty: true,
      confirm: true,
    });
    expect(one.code).toBe(0);
    expect(one.stdout).toBe('p-2\n');
    expect(sb.inspect('purge').deadLettered).toBe(2);
    const rest = await runCli(['dlq', 'purge', '--yes', '--queue', 'purge'], { env });
    expect(rest.code).toBe(0);
    expect(lines(rest.stdout).sort()).toEqual(['p-1', 'p-3']);
    expect(rest.stderr).toContain('deleted 2 dead-lettered messages');
    expect(sb.inspect('purge')).toMatchObject({ active: 0, deadLettered: 0 });
    expect(await receiveAll('purge', true)).toHaveLength(0);
  });
});
