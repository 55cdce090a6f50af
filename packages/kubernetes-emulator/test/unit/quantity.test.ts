import { describe, expect, it } from '@jest/globals';

import {
  addQuantities,
  compareQuantities,
  formatQuantity,
  parseQuantity,
  QuantityError,
} from '../../src/quantity.js';

describe('quantities in canonical form, as the API server stores them', () => {
  it.each([
    ['0.5', '500m'],
    ['500m', '500m'],
    ['40', '40'],
    ['40000m', '40'],
    ['2000', '2k'],
    ['1.5k', '1500'],
    ['128Mi', '128Mi'],
    ['1.5Gi', '1536Mi'],
    ['1024Mi', '1Gi'],
    ['100m', '100m'],
    ['1e3', '1e3'],
    ['12e6', '12e6'],
    ['0', '0'],
    ['0.0001', '100u'],
    ['1G', '1G'],
    ['3.5', '3500m'],
    ['0.1m', '100u'],
  ])('%s -> %s', (text, canonical) => {
    expect(formatQuantity(parseQuantity(text))).toBe(canonical);
  });

  it('adds in the left format unless it is zero, and compares exactly', () => {
    const sum = (a: string, b: string) =>
      formatQuantity(addQuantities(parseQuantity(a), parseQuantity(b)));
    expect(sum('0', '128Mi')).toBe('128Mi');
    expect(sum('1Gi', '512Mi')).toBe('1536Mi');
    expect(sum('1G', '128Mi')).toBe('1134217728');
    expect(sum('39500m', '500m')).toBe('40');
    expect(compareQuantities(parseQuantity('1'), parseQuantity('1000m'))).toBe(0);
    expect(compareQuantities(parseQuantity('1Gi'), parseQuantity('1G'))).toBe(1);
  });

  it('refuses text that is not a quantity', () => {
    for (const bad of ['', 'abc', '1.2.3', '5x', 'Mi'])
      expect(() => parseQuantity(bad)).toThrow(QuantityError);
  });
});
