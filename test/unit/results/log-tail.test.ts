import { describe, expect, it } from '@jest/globals';

import { logTail, readLogTails } from '../../../src/results/log-tail.js';
import { podSnapshot } from '../../../src/results/pod-snapshot.js';
import { rawPod, running, terminated, waiting } from './support/pods.js';

describe('logTail', () => {
  it('keeps the whole log when it fits', () => {
    expect(logTail('line 1\nline 2\n', 64)).toEqual({ tail: 'line 1\nline 2\n', truncated: false });
  });

  it('keeps the last bytes, never half a character', () => {
    expect(logTail('abcdef', 3)).toEqual({ tail: 'def', truncated: true });
    // "é" is two bytes: cutting at its second byte would leave a broken character.
    expect(logTail('aé', 1)).toEqual({ tail: '', truncated: true });
    expect(logTail('xéy', 3)).toEqual({ tail: 'éy', truncated: true });
  });

  it('scrubs a token the challenge printed', () => {
    expect(logTail('Authorization: Bearer abcdefghijklmnop\n', 1000)).toEqual({
      tail: 'Authorization: Bearer [REDACTED]\n',
      truncated: false,
    });
  });
});

describe('readLogTails', () => {
  it('reads the containers that ran, bounded per container and per result', async () => {
    const pod = podSnapshot(
      rawPod({
        containers: [
          { name: 'a', state: terminated(0, 1, 2) },
          { name: 'b', state: running(1) },
          { name: 'c', state: waiting('ErrImagePull') },
        ],
      }),
    )!;
    const asked: { name: string; container: string; tailLines?: number }[] = [];
    const tails = await readLogTails(
      async (name, options) => {
        asked.push({ name, container: options.container, tailLines: options.tailLines });
        if (options.container === 'b') throw new Error('cluster a: 403 pods/log forbidden');
        return 'x'.repeat(100);
      },
      pod.name,
      pod.containers,
      10,
      new AbortController().signal,
    );
    expect(asked.map((a) => a.container)).toEqual(['a', 'b']);
    expect(tails).toEqual(
      new Map([
        ['a', { tail: 'x'.repeat(10), truncated: true }],
        ['b', { error: 'cluster a: 403 pods/log forbidden' }],
      ]),
    );
  });

  it('splits the per-result limit among many containers', async () => {
    const pod = podSnapshot(
      rawPod({
        containers: Array.from({ length: 8 }, (_, i) => ({
          name: `c${i}`,
          state: terminated(0, 1, 2),
        })),
      }),
    )!;
    const tails = await readLogTails(
      async () => 'y'.repeat(20_000),
      pod.name,
      pod.containers,
      16_384,
      new AbortController().signal,
    );
    for (const tail of tails.values())
      expect(tail).toEqual({ tail: 'y'.repeat(8192), truncated: true });
  });
});
