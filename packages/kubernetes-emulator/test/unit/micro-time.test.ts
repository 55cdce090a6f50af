import { describe, expect, it } from '@jest/globals';

import { MicroTimeError, nowMicro, parseMicroTime } from '../../src/micro-time.js';

const LAYOUT = '"2006-01-02T15:04:05.000000Z07:00"';

describe('MicroTime as kube-apiserver decodes it (Go time.Parse with RFC3339Micro)', () => {
  it.each([
    ['2026-01-02T03:04:05.123456Z', '2026-01-02T03:04:05.123456Z'],
    ['2026-01-02T03:04:05.000000+01:00', '2026-01-02T02:04:05.000000Z'],
    ['2026-12-31T23:30:00.500000-01:00', '2027-01-01T00:30:00.500000Z'],
  ])('%s is stored as %s (UTC, six digits)', (text, stored) => {
    expect(parseMicroTime(text)).toBe(stored);
  });

  it.each([
    ['2026-01-02T03:04:05.678Z', 'cannot parse ".678Z" as ".000000"'],
    ['2026-01-02T03:04:05Z', 'cannot parse "Z" as ".000000"'],
    ['2026-01-02T03:04:05.1234567Z', 'cannot parse "7Z" as "Z07:00"'],
    ['2026-01-02 03:04:05.123456Z', 'cannot parse " 03:04:05.123456Z" as "T"'],
    ['yesterday', 'cannot parse "yesterday" as "2006"'],
  ])('%s is refused with Go parse error text', (text, why) => {
    expect(() => parseMicroTime(text)).toThrow(
      new MicroTimeError(`parsing time ${JSON.stringify(text)} as ${LAYOUT}: ${why}`),
    );
  });

  it('refuses values out of range and trailing text as Go words them', () => {
    expect(() => parseMicroTime('2026-13-02T03:04:05.123456Z')).toThrow(
      'parsing time "2026-13-02T03:04:05.123456Z": month out of range',
    );
    expect(() => parseMicroTime('2026-02-30T03:04:05.123456Z')).toThrow(
      'parsing time "2026-02-30T03:04:05.123456Z": day out of range',
    );
    expect(() => parseMicroTime('2026-01-02T03:04:05.123456Zx')).toThrow(
      'parsing time "2026-01-02T03:04:05.123456Zx": extra text: "x"',
    );
  });

  it('nowMicro writes the layout the server writes', () => {
    expect(nowMicro(Date.UTC(2026, 0, 2, 3, 4, 5, 67))).toBe('2026-01-02T03:04:05.067000Z');
  });
});
