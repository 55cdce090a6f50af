import { afterEach, describe, expect, it } from '@jest/globals';

import { runCli } from '../../unit/cli/support/run-cli.js';
import { eventually, QUEUE, Stack } from './stack.js';

describe('enqueue -> worker -> dlq resubmit', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('a message refused by policy is dead-lettered, then runs once the policy allows it and it is resubmitted', async () => {
    stack = await Stack.start();
    const env = { PODBUS_SERVICE_BUS_CONNECTION_STRING: stack.sb.connectionString };
    const strict = await stack.startWorker();

    const sent = await runCli(
      [
        'enqueue',
        '--challenge',
        'web-9',
        '--image',
        'ghcr.io/acme/web:9',
        '--message-id',
        'round-trip-1',
      ],
      { env },
    );
    expect(sent.code).toBe(0);
    expect(sent.stdout.trim()).toBe('round-trip-1');

    const listed = await eventually('the dead letter', async () => {
      const run = await runCli(['dlq', 'list', '--json'], { env });
      const rows = JSON.parse(run.stdout) as {
        messageId: string;
        deadLetterReason: string;
        deadLetterErrorDescription: string;
      }[];
      return rows.length === 1 && rows;
    });
    expect(listed[0]).toMatchObject({
      messageId: 'round-trip-1',
      deadLetterReason: 'PolicyViolation',
    });
    expect(listed[0]!.deadLetterErrorDescription).toContain('ghcr.io/acme/web');
    expect(stack.pods()).toEqual([]);

    // The operator widens the allowlist and restarts the worker, then resubmits.
    await strict.stop();
    await stack.startWorker({ 'policy.allowedImages': 'ghcr.io/acme/*' });
    const resubmitted = await runCli(['dlq', 'resubmit', 'round-trip-1'], { env });
    expect(resubmitted.code).toBe(0);
    expect(resubmitted.stdout.trim()).toBe('round-trip-1');

    await eventually('the pod', () => stack!.podNames().length === 1);
    expect(stack.podNames()[0]).toMatch(/\/round-trip-1$/);
    await eventually('queues empty', () => {
      const q = stack!.sb.inspect(QUEUE);
      return q.active + q.locked + q.deadLettered === 0;
    });
  });
});
