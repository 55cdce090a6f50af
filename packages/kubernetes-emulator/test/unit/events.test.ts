import { describe, expect, it } from '@jest/globals';

import { goDuration } from '../../src/events.js';

describe('durations in event messages, as Go prints a time.Duration truncated to milliseconds', () => {
  it.each([
    [0, '0s'],
    [30, '30ms'],
    [999.9, '999ms'],
    [1000, '1s'],
    [1234, '1.234s'],
    [1500, '1.5s'],
    [61_500, '1m1.5s'],
    [120_000, '2m0s'],
  ])('%d ms -> %s', (ms, text) => {
    expect(goDuration(ms)).toBe(text);
  });
});
