import { describe, expect, test } from '@jest/globals';

import { createProgress } from '../../../src/cli/output/progress.js';
import { renderTable, truncateCell } from '../../../src/cli/output/table.js';

describe('renderTable', () => {
  const columns = [
    { header: 'ID' },
    { header: 'DESCRIPTION', shrink: true, minWidth: 10 },
    { header: 'N', align: 'right' as const },
  ];
  const rows = [
    ['a', 'short', '1'],
    ['longer-id', 'a description that goes on and on\nacross lines', '120'],
  ];

  test('pads columns to the widest cell; whole cells without a width limit; newlines flattened', () => {
    expect(renderTable(columns, rows)).toBe(
      'ID         DESCRIPTION                                       N\n' +
        'a          short                                             1\n' +
        'longer-id  a description that goes on and on across lines  120\n',
    );
  });

  test('fits a terminal width by shortening shrinkable columns, ending them in …', () => {
    const text = renderTable(columns, rows, { maxWidth: 40 });
    const lines = text.trimEnd().split('\n');
    expect(lines.every((l) => [...l].length <= 40)).toBe(true);
    expect(lines[2]).toBe('longer-id  a description that goes…  120');
  });

  test('never shrinks below minWidth or the header, nor unshrinkable columns', () => {
    const text = renderTable(columns, rows, { maxWidth: 10 });
    expect(text.split('\n')[2]).toBe('longer-id  a descript…  120');
  });

  test('truncateCell counts characters, not bytes', () => {
    expect(truncateCell('挑战挑战挑战', 4)).toBe('挑战挑…');
    expect(truncateCell('abc', 3)).toBe('abc');
  });
});

describe('createProgress', () => {
  test('on a terminal: one line redrawn with \\r, throttled, finished with a newline', () => {
    let out = '';
    let now = 0;
    const p = createProgress({
      stream: { write: (t: string) => (out += t), isTTY: true },
      total: 200,
      verb: 'sent',
      now: () => now,
    });
    p.update(10);
    now += 50;
    p.update(20); // throttled
    now += 100;
    p.update(100);
    p.update(200); // the last one is always drawn
    p.finish();
    expect(out.split('\r').filter(Boolean)).toEqual([
      '[#-----------------------]  10/200 sent',
      '[############------------] 100/200 sent',
      '[########################] 200/200 sent',
      '[########################] 200/200 sent\n',
    ]);
  });

  test('elsewhere: a plain line per 10 % step, no control characters', () => {
    let out = '';
    const p = createProgress({
      stream: { write: (t: string) => (out += t) },
      total: 1000,
      verb: 'sent',
    });
    for (let i = 1; i <= 1000; i += 1) p.update(i);
    p.finish();
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(' 100/1000 sent');
    expect(lines[9]).toBe('1000/1000 sent');
    expect(out).not.toContain('\r');
  });
});
