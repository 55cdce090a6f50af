import { describe, expect, it } from '@jest/globals';

import { traceparentOf, validTraceparent } from '../../../src/message/trace-context.js';

const TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('traceparentOf: the sender trace context of a message', () => {
  it('reads Diagnostic-Id (the Azure SDKs) first, else traceparent (W3C messaging)', () => {
    expect(traceparentOf({ 'Diagnostic-Id': TRACE })).toBe(TRACE);
    expect(traceparentOf({ traceparent: TRACE })).toBe(TRACE);
    const other = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    expect(traceparentOf({ 'Diagnostic-Id': TRACE, traceparent: other })).toBe(TRACE);
    expect(traceparentOf({ 'Diagnostic-Id': 'garbage', traceparent: other })).toBe(other);
  });

  it('has none when the message carries none', () => {
    expect(traceparentOf(undefined)).toBeUndefined();
    expect(traceparentOf({})).toBeUndefined();
    expect(traceparentOf({ other: TRACE })).toBeUndefined();
  });

  it.each([
    ['a number', 42],
    ['a Request-Id of the old hierarchical format', '|4bf92f3577b34da6.1.'],
    ['upper-case hex', TRACE.toUpperCase()],
    ['an all-zero trace ID', '00-00000000000000000000000000000000-b7ad6b7169203331-01'],
    ['an all-zero span ID', '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01'],
    ['version ff', 'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
    ['a line break and more after it', `${TRACE}\n{"msg":"forged"}`],
    ['a very long string', `${TRACE}${'a'.repeat(100_000)}`],
  ])('drops %s', (_what, value) => {
    expect(traceparentOf({ 'Diagnostic-Id': value })).toBeUndefined();
  });

  it('takes a well-formed value with surrounding blanks, trimmed', () => {
    expect(traceparentOf({ 'Diagnostic-Id': ` ${TRACE} ` })).toBe(TRACE);
  });
});

describe('validTraceparent: a traceparent read back from a pod annotation', () => {
  it('takes the same form as a message property, nothing else', () => {
    expect(validTraceparent(TRACE)).toBe(TRACE);
    for (const bad of [`${TRACE}\n{"injected":true}`, `${TRACE}-extra`, '', null, 42]) {
      expect([bad, validTraceparent(bad)]).toEqual([bad, undefined]);
    }
  });
});
