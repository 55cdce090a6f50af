import { describe, expect, it } from '@jest/globals';

import { formatIsoDuration, parseIsoDuration } from '../../src/duration.js';

describe('ISO-8601 durations', () => {
  it.each([
    ['PT1M', 60_000],
    ['PT5S', 5_000],
    ['PT0.5S', 500],
    ['PT1H', 3_600_000],
    ['P1D', 86_400_000],
    ['P1DT2H3M4S', 93_784_000],
    ['pt20s', 20_000],
    ['P1W', 604_800_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', '1M', 'PT1X', 'PT-1S', 'P1DT', '60', 'PT1M30'])('rejects %j', (text) => {
    expect(parseIsoDuration(text)).toBeUndefined();
  });

  it('formats compactly', () => {
    expect(formatIsoDuration(60_000)).toBe('PT1M');
    expect(formatIsoDuration(5_000)).toBe('PT5S');
    expect(formatIsoDuration(90_061_000)).toBe('P1DT1H1M1S');
    expect(formatIsoDuration(0)).toBe('PT0S');
  });
});
