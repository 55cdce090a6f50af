import { describe, expect, it } from '@jest/globals';

import { compareQuantities, parseQuantity } from '../../../src/policy/quantity.js';
import type { Quantity } from '../../../src/policy/quantity.js';

function q(text: string | number): Quantity {
  const result = parseQuantity(text);
  if (!result.ok) throw new Error(result.problem);
  return result.quantity;
}

/** The exact value as numerator/denominator reduced to a decimal string, for readable asserts. */
function value(text: string | number): number {
  const quantity = q(text);
  return Number(quantity.numerator) / Number(quantity.denominator);
}

describe('parseQuantity', () => {
  it.each([
    ['1', 1],
    ['500m', 0.5],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['1.', 1],
    ['2k', 2000],
    ['1M', 1e6],
    ['1G', 1e9],
    ['1E', 1e18],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1e-3', 0.001],
    ['1e+3', 1000],
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1Ki', 1024],
    ['100u', 0.0001],
    ['5n', 5e-9],
    [0.25, 0.25],
    [2, 2],
  ])('reads %p as %p', (text, expected) => {
    expect(value(text)).toBeCloseTo(expected, 12);
  });

  it.each(['', '1K', '1e', 'm', '-1', '+1', '1 Gi', '1gi', '1GiB', 'one', '1..2', '0x10', '1e1.5'])(
    'rejects %p with a message naming the value',
    (text) => {
      expect(parseQuantity(text)).toEqual({
        ok: false,
        problem: `"${text}" is not a Kubernetes quantity such as "500m", "2", "128Mi" or "1Gi"`,
      });
    },
  );

  it('rejects absurd exponents instead of building huge numbers', () => {
    expect(parseQuantity('1e999999999')).toEqual({
      ok: false,
      problem: '"1e999999999" is out of range',
    });
  });

  it('keeps binary suffixes exact beyond float precision', () => {
    const big = q('8Ei');
    expect(big.numerator).toBe(8n * 2n ** 60n);
    expect(compareQuantities(q('8Ei'), q('9223372036854775808'))).toBe(0);
  });
});

describe('compareQuantities', () => {
  it('compares across suffixes exactly', () => {
    expect(compareQuantities(q('500m'), q('0.5'))).toBe(0);
    expect(compareQuantities(q('1000m'), q('1'))).toBe(0);
    expect(compareQuantities(q('1Gi'), q('1G'))).toBe(1);
    expect(compareQuantities(q('1e3'), q('1k'))).toBe(0);
    expect(compareQuantities(q('0.1'), q('100m'))).toBe(0);
    expect(compareQuantities(q('1500m'), q('2'))).toBe(-1);
    expect(compareQuantities(q('4096Mi'), q('4Gi'))).toBe(0);
  });
});
