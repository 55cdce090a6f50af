import { describe, expect, it } from '@jest/globals';

import {
  matchFields,
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
} from '../../src/selectors.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', version: '3' };

  it.each([
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web, db)', true],
    ['app notin (web)', false],
    ['missing notin (x)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['version>2', true],
    ['version<3', false],
    ['app=web,tier=back', false],
    ['app=web, tier=front', true],
    ['', true],
  ])('%s -> %s', (selector, expected) => {
    expect(parseLabelSelector(selector).matches(labels)).toBe(expected);
  });

  it('matches objects without labels only for negative requirements', () => {
    expect(parseLabelSelector('app!=x').matches(undefined)).toBe(true);
    expect(parseLabelSelector('app=x').matches(undefined)).toBe(false);
  });

  it.each(['a in (b', 'a b', 'a=b=c,', 'in (x)', 'a>b', 'bad key!=x', 'a=b!'])(
    'rejects %s',
    (selector) => {
      expect(() => parseLabelSelector(selector)).toThrow(SelectorParseError);
    },
  );
});

describe('field selectors', () => {
  it('parses =, == and != terms and matches them', () => {
    const reqs = parseFieldSelector('status.phase!=Succeeded,metadata.name==p1,spec.nodeName=');
    expect(reqs).toEqual([
      { field: 'status.phase', value: 'Succeeded', negate: true },
      { field: 'metadata.name', value: 'p1', negate: false },
      { field: 'spec.nodeName', value: '', negate: false },
    ]);
    const get = (f: string): string | undefined =>
      ({ 'status.phase': 'Running', 'metadata.name': 'p1' })[f];
    expect(matchFields(reqs, get)).toBe(true);
    expect(matchFields(parseFieldSelector('status.phase=Pending'), get)).toBe(false);
  });

  it('honours backslash escapes in values', () => {
    expect(parseFieldSelector('metadata.name=a\\,b')).toEqual([
      { field: 'metadata.name', value: 'a,b', negate: false },
    ]);
  });

  it('rejects terms without an operator', () => {
    expect(() => parseFieldSelector('status.phase')).toThrow("can't understand 'status.phase'");
  });
});
