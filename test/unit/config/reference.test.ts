import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as prettier from 'prettier';

import {
  describeConfigSchema,
  renderConfigurationReference,
  renderOptionsTable,
} from '../../../src/config/reference.js';

const DOC = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const START = /<!-- config-reference:start[^>]*-->\n/;
const END = '<!-- config-reference:end -->';

async function expectedReference(): Promise<string> {
  const options = (await prettier.resolveConfig(DOC)) ?? {};
  return prettier.format(renderConfigurationReference(), { ...options, parser: 'markdown' });
}

describe('docs/configuration.md', () => {
  it('is generated from the schema and up to date', async () => {
    const expected = await expectedReference();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(DOC, expected);
    const actual = readFileSync(DOC, 'utf8');
    if (actual !== expected) {
      throw new Error(
        'docs/configuration.md is out of date with src/config/schema.ts; regenerate it with: UPDATE_DOCS=1 npm test -- test/unit/config/reference',
      );
    }
  });
});

describe('README.md configuration section', () => {
  it('holds the generated options table', async () => {
    const actual = readFileSync(README, 'utf8');
    const start = START.exec(actual);
    const end = actual.indexOf(END);
    expect(start).not.toBeNull();
    expect(end).toBeGreaterThan(start!.index);
    const replaced =
      actual.slice(0, start!.index + start![0].length) +
      `\n${renderOptionsTable()}\n\n` +
      actual.slice(end);
    const options = (await prettier.resolveConfig(README)) ?? {};
    const expected = await prettier.format(replaced, { ...options, parser: 'markdown' });
    if (process.env.UPDATE_DOCS === '1') writeFileSync(README, expected);
    if (readFileSync(README, 'utf8') !== expected) {
      throw new Error(
        'README.md configuration table is out of date with src/config/schema.ts; regenerate it with: UPDATE_DOCS=1 npm test -- test/unit/config/reference',
      );
    }
  });
});

describe('describeConfigSchema', () => {
  it('gives each option its path, variable, default, type and doc', () => {
    const rows = describeConfigSchema();
    expect(rows.find((r) => r.path === 'serviceBus.maxConcurrentCalls')).toEqual({
      path: 'serviceBus.maxConcurrentCalls',
      env: 'PODBUS_SERVICE_BUS_MAX_CONCURRENT_CALLS',
      default: '8',
      type: 'integer, 1 to 1000',
      doc: 'Messages handled at the same time by one replica (the receiver prefetches no more than this).',
      sensitive: false,
      required: false,
    });
    expect(rows.find((r) => r.path === 'serviceBus.connectionString')).toMatchObject({
      default: '""',
      sensitive: true,
      required: false,
    });
    expect(rows.find((r) => r.path === 'policy.allowedImages')).toMatchObject({
      default: 'required',
      required: true,
    });
    expect(rows.find((r) => r.path === 'selection.strategy')?.type).toBe(
      'one of `round-robin`, `weighted`, `least-loaded`, `hash`',
    );
    expect(rows.map((r) => r.path)).toContain('pod.securityContext.runAsNonRoot');
  });
});
