import { describe, expect, it } from '@jest/globals';

import { onStopSignals } from '../../../src/cli/signals.js';

describe('onStopSignals', () => {
  it('resolves on the first signal and forces exit on the second with the shell code', async () => {
    const exits: number[] = [];
    const forced: string[] = [];
    const handle = onStopSignals({
      exit: (code) => exits.push(code),
      onForce: (s) => forced.push(s),
    });
    try {
      process.emit('SIGTERM');
      await expect(handle.stopped).resolves.toBe('SIGTERM');
      expect(exits).toEqual([]);

      process.emit('SIGINT');
      expect(forced).toEqual(['SIGINT']);
      expect(exits).toEqual([130]);
    } finally {
      handle.dispose();
    }
  });

  it('removes its handlers on dispose', () => {
    const before = process.listenerCount('SIGTERM');
    const handle = onStopSignals({ exit: () => undefined });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    handle.dispose();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
