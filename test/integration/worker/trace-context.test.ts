/**
 * The sender's trace context in the logs: a challenge sent with the `Diagnostic-Id` application
 * property the Azure SDKs set (or a W3C `traceparent` property) has that traceparent on every log
 * line about it, through the real SDK and the real client-node, so one ID joins the sender's
 * trace to the worker's lines. A malformed or hostile value is left out, never logged.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { challenge, eventually, QUEUE, Stack } from './stack.js';

const SENDER_TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const OTHER_TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';

let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({ clusters: [{ name: 'alpha' }] });
  await stack.startWorker();
});

afterAll(async () => {
  await stack?.stop();
});

/** The worker's JSON log lines about one message, once its delivery is done. */
async function linesAbout(messageId: string): Promise<Record<string, unknown>[]> {
  return eventually(`the log lines of ${messageId}`, () => {
    const lines = stack.logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['messageId'] === messageId);
    return lines.some((l) => l['msg'] === 'message handled') && lines;
  });
}

describe('trace context: the sender traceparent on every log line about the message', () => {
  beforeAll(async () => {
    const sender = stack.serviceBus.createSender(QUEUE);
    try {
      await sender.sendMessages([
        {
          messageId: 'traced-created',
          // Encoded twice: the worker says so in a line of its own before the final one.
          body: JSON.stringify(challenge('web-101', 'registry.example/challenges/web:1')),
          applicationProperties: { 'Diagnostic-Id': SENDER_TRACE },
        },
        {
          messageId: 'traced-dead-lettered',
          body: challenge('web-101', 'docker.io/someone/miner:1'),
          applicationProperties: { traceparent: OTHER_TRACE },
        },
        {
          messageId: 'traced-hostile',
          body: challenge('web-101', 'registry.example/challenges/web:1'),
          applicationProperties: {
            'Diagnostic-Id': `${SENDER_TRACE}\n{"level":60,"msg":"forged"} Bearer s3cr3t`,
          },
        },
        {
          messageId: 'untraced',
          body: challenge('web-101', 'registry.example/challenges/web:1'),
        },
      ]);
    } finally {
      await sender.close();
    }
  });

  it('carries Diagnostic-Id into each line of a created pod, the encoded-twice note included', async () => {
    const lines = await linesAbout('traced-created');
    expect(lines.map((l) => l['msg'])).toEqual([
      'the body is a JSON string holding the challenge (encoded twice); accepted',
      'message handled',
    ]);
    expect(lines.map((l) => l['traceparent'])).toEqual([SENDER_TRACE, SENDER_TRACE]);
    expect(lines.at(-1)).toMatchObject({ outcome: 'created', cluster: 'alpha' });
  });

  it('carries a W3C traceparent property into the line of a dead-lettered message', async () => {
    const lines = await linesAbout('traced-dead-lettered');
    expect(lines.at(-1)).toMatchObject({
      msg: 'message handled',
      outcome: 'dead_lettered',
      reason: 'PolicyViolation',
      traceparent: OTHER_TRACE,
    });
    expect(lines.every((l) => l['traceparent'] === OTHER_TRACE)).toBe(true);
  });

  it('leaves a malformed value out of the lines, and logs nothing of it', async () => {
    const lines = await linesAbout('traced-hostile');
    expect(lines.at(-1)).toMatchObject({ msg: 'message handled', outcome: 'created' });
    expect(lines.every((l) => !('traceparent' in l))).toBe(true);
    const all = stack.logLines.join('\n');
    expect(all).not.toContain('forged');
    expect(all).not.toContain('s3cr3t');
  });

  it('has no traceparent field for a message sent without one', async () => {
    const lines = await linesAbout('untraced');
    expect(lines.at(-1)).toMatchObject({ msg: 'message handled', outcome: 'created' });
    expect(lines.every((l) => !('traceparent' in l))).toBe(true);
  });
});
