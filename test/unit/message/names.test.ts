import { describe, expect, it } from '@jest/globals';
import { randomBytes, randomInt } from 'node:crypto';

import {
  containerNames,
  generatedContainerName,
  isDns1123Label,
  isLabelValue,
  labelValueFor,
  podNameForMessageId,
  shortHash,
} from '../../../src/message/names.js';

const HASHED = /-[0-9a-f]{16}$/;

describe('podNameForMessageId', () => {
  it('keeps an ID that is already a valid DNS-1123 label exactly as it is (the seed did)', () => {
    for (const id of [
      'abc',
      'challenge-42',
      '0',
      'a'.repeat(63),
      '8f14e45fceea167a5a36dedd4bea2543',
    ]) {
      expect(podNameForMessageId(id)).toBe(id);
    }
  });

  it('keeps a lowercase 36-character GUID verbatim', () => {
    const guid = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    expect(podNameForMessageId(guid)).toBe(guid);
  });

  it('lower-cases an uppercase GUID and marks the change with a hash', () => {
    const guid = '3F2504E0-4F89-41D3-9A0C-0305E82C3301';
    expect(podNameForMessageId(guid)).toBe(
      `3f2504e0-4f89-41d3-9a0c-0305e82c3301-${shortHash(guid)}`,
    );
  });

  it('maps a .NET-style {GUID} by dropping the braces, plus the hash', () => {
    const id = '{3f2504e0-4f89-41d3-9a0c-0305e82c3301}';
    const name = podNameForMessageId(id);
    expect(name).toBe(`3f2504e0-4f89-41d3-9a0c-0305e82c3301-${shortHash(id)}`);
    expect(isDns1123Label(name)).toBe(true);
  });

  it('replaces invalid characters and strips leading/trailing dashes', () => {
    expect(podNameForMessageId('--Run_1.2--')).toBe(`run-1-2-${shortHash('--Run_1.2--')}`);
    expect(podNameForMessageId('-abc')).toBe(`abc-${shortHash('-abc')}`);
    expect(podNameForMessageId('abc-')).toBe(`abc-${shortHash('abc-')}`);
  });

  it('drops accents from Latin letters and replaces other scripts', () => {
    expect(podNameForMessageId('Café-Été')).toBe(`cafe-ete-${shortHash('Café-Été')}`);
    expect(podNameForMessageId('İstanbul')).toBe(`istanbul-${shortHash('İstanbul')}`);
    expect(podNameForMessageId('задача-7')).toBe(`7-${shortHash('задача-7')}`);
  });

  it('uses "m-<hash>" when nothing survives sanitising (empty, emoji, CJK, punctuation)', () => {
    for (const id of ['', '🚀🚀', '挑战', '___', '.']) {
      expect(podNameForMessageId(id)).toBe(`m-${shortHash(id)}`);
    }
  });

  it('truncates long IDs to 63 characters, keeping the hash', () => {
    const id = `challenge-${'x'.repeat(200)}`;
    const name = podNameForMessageId(id);
    expect(name).toHaveLength(63);
    expect(name.endsWith(`-${shortHash(id)}`)).toBe(true);
    expect(isDns1123Label(name)).toBe(true);
  });

  it('does not leave a dash before the hash when truncation cuts at a dash', () => {
    const id = `${'a'.repeat(45)}-${'b'.repeat(30)}`; // the cut falls right after the dash
    const name = podNameForMessageId(id);
    expect(name).toBe(`${'a'.repeat(45)}-${shortHash(id)}`);
  });

  it('gives a valid ID that already looks mapped a hash of its own (keeps the two sets apart)', () => {
    const mapped = podNameForMessageId('Foo'); // "foo-<16 hex>"
    expect(mapped).toMatch(HASHED);
    // A sender who uses that very name as a messageId does not get the same pod name.
    expect(podNameForMessageId(mapped)).not.toBe(mapped);
    expect(podNameForMessageId(mapped)).toBe(`${mapped.slice(0, 46)}-${shortHash(mapped)}`);
  });

  it('maps IDs that differ only in case to different names', () => {
    expect(podNameForMessageId('ABC')).not.toBe(podNameForMessageId('abc'));
    expect(podNameForMessageId('ABC')).not.toBe(podNameForMessageId('Abc'));
  });

  it('is deterministic (redelivery maps to the same name)', () => {
    expect(podNameForMessageId('Some ID/42')).toBe(podNameForMessageId('Some ID/42'));
  });

  it('stays valid and injective over many random IDs (property check)', () => {
    const chars = [...'abcXYZ019-_.{}/ :éßİ漢🚀'];
    const randomId = (max: number): string => {
      let id = '';
      for (let j = randomInt(0, max); j > 0; j--) id += chars[randomInt(chars.length)];
      return id;
    };
    const ids = new Set<string>();
    for (let i = 0; i < 10000; i++) ids.add(randomId(140));
    for (let i = 0; i < 2000; i++) ids.add(randomBytes(randomInt(1, 40)).toString('base64'));
    // IDs built to share a sanitised base, so only the hash can tell them apart: a long common
    // prefix (truncation), case variants, and invalid characters that all become "-".
    const prefix = 'challenge-run-2024-'.repeat(4);
    for (let i = 0; i < 3000; i++) ids.add(`${prefix}${i}`);
    for (let i = 0; i < 1000; i++) ids.add(randomCase('abcdefghij'));
    for (let i = 0; i < 1000; i++) ids.add(`a${randomId(4).replace(/[a-z0-9]/gi, '')}b`);
    // And the names of some IDs used as IDs themselves (a sender copying a pod name).
    for (const id of [...ids].slice(0, 500)) ids.add(podNameForMessageId(id));

    const names = new Map<string, string>();
    const invalid: string[] = [];
    for (const id of ids) {
      const name = podNameForMessageId(id);
      if (!isDns1123Label(name)) invalid.push(`${id} -> ${name}`);
      const other = names.get(name);
      if (other !== undefined) throw new Error(`"${id}" and "${other}" both map to ${name}`);
      names.set(name, id);
    }
    expect(invalid).toEqual([]);
    expect(names.size).toBe(ids.size);
    expect(ids.size).toBeGreaterThan(15000);
  });
});

function randomCase(text: string): string {
  return [...text].map((c) => (randomInt(2) ? c.toUpperCase() : c)).join('');
}

describe('labelValueFor', () => {
  it('keeps valid label values verbatim, including upper case, "_" and "."', () => {
    for (const id of ['Run_1.2', 'ABC', '3F2504E0-4F89-41D3-9A0C-0305E82C3301']) {
      expect(labelValueFor(id)).toBe(id);
    }
  });

  it('maps invalid values with the hash rule and keeps them within 63 characters', () => {
    expect(labelValueFor('{GUID}')).toBe(`GUID-${shortHash('{GUID}')}`);
    expect(labelValueFor('a b')).toBe(`a-b-${shortHash('a b')}`);
    const long = labelValueFor('x'.repeat(100));
    expect(long).toHaveLength(63);
    expect(isLabelValue(long)).toBe(true);
    expect(labelValueFor('')).toBe(`m-${shortHash('')}`);
  });

  it('stays a valid, injective label value over many random IDs', () => {
    const chars = [...'aB9-_.{} /é漢'];
    const seen = new Map<string, string>();
    for (let i = 0; i < 10000; i++) {
      let id = '';
      for (let j = randomInt(0, 90); j > 0; j--) id += chars[randomInt(chars.length)];
      const value = labelValueFor(id);
      if (!isLabelValue(value)) throw new Error(`"${id}" -> invalid label value ${value}`);
      const other = seen.get(value);
      if (other !== undefined && other !== id)
        throw new Error(`"${id}" and "${other}" -> ${value}`);
      seen.set(value, id);
    }
  });
});

describe('container names', () => {
  it('follows the seed: <challengeid>-01, -02, ...', () => {
    expect(generatedContainerName('web101', 0)).toBe('web101-01');
    expect(generatedContainerName('web101', 1)).toBe('web101-02');
    expect(generatedContainerName('web101', 99)).toBe('web101-100');
  });

  it('sanitises the challengeId to a DNS-1123 label and keeps the suffix when truncating', () => {
    expect(generatedContainerName('Web_101 Final', 0)).toBe('web-101-final-01');
    const long = generatedContainerName('c'.repeat(80), 2);
    expect(long).toBe(`${'c'.repeat(60)}-03`);
    expect(isDns1123Label(long)).toBe(true);
    expect(generatedContainerName('挑战', 0)).toBe('container-01');
    expect(generatedContainerName('-x-', 0)).toBe('x-01');
  });

  it("uses a container's own name when given; positions count every container", () => {
    expect(containerNames('c1', [{}, { name: 'db' }, {}])).toEqual(['c1-01', 'db', 'c1-03']);
  });
});

// The examples in docs/message-contract.md, pinned: a change here renames the pods of
// redelivered messages (a breaking change) and must update the docs.
describe('documented name examples', () => {
  it.each([
    [
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
    ],
    [
      '3F2504E0-4F89-41D3-9A0C-0305E82C3301',
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301-d5427d3cc5e5beff',
      '3F2504E0-4F89-41D3-9A0C-0305E82C3301',
    ],
    [
      '{3f2504e0-4f89-41d3-9a0c-0305e82c3301}',
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301-8841ffe7f0fcaa15',
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301-8841ffe7f0fcaa15',
    ],
    ['challenge-42', 'challenge-42', 'challenge-42'],
    ['Run_7.final', 'run-7-final-cdcc660c00d75eab', 'Run_7.final'],
    ['Café Noir', 'cafe-noir-729b59a043b8feb2', 'Cafe-Noir-729b59a043b8feb2'],
    ['挑战', 'm-4eed57b5a12b5dc4', 'm-4eed57b5a12b5dc4'],
  ])('%s -> pod %s, label %s', (id, pod, label) => {
    expect(podNameForMessageId(id)).toBe(pod);
    expect(labelValueFor(id)).toBe(label);
  });

  it('container names', () => {
    expect(
      ['web101', 'Web 101!', '挑战'].map((c) => [0, 1].map((i) => generatedContainerName(c, i))),
    ).toEqual([
      ['web101-01', 'web101-02'],
      ['web-101-01', 'web-101-02'],
      ['container-01', 'container-02'],
    ]);
  });
});
