import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { CliUsageError } from '../../src/cli-support.js';
import { resolveEntraFlags } from '../../src/entra-flags.js';
import { rightsOfRole } from '../../src/rights.js';

describe('rightsOfRole', () => {
  it.each([
    ['Azure Service Bus Data Receiver', ['Listen']],
    ['azure service bus data sender', ['Send']],
    ['090c5cfd-751d-490a-894a-3ce6f1109419', ['Manage', 'Send', 'Listen']],
    [
      '/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
      ['Listen'],
    ],
    ['Contributor', undefined],
  ])('%s', (role, rights) => {
    expect(rightsOfRole(role)).toEqual(rights);
  });
});

describe('the --entra-* flags', () => {
  it('are off unless asked for', () => {
    expect(resolveEntraFlags({})).toBeUndefined();
  });

  it('build one issuer with role assignments', () => {
    expect(
      resolveEntraFlags({
        entraIssuer: 'https://sts.windows.net/t/',
        entraRole: [
          'oid-1=Azure Service Bus Data Receiver@challenges',
          'grp=Azure Service Bus Data Sender',
        ],
      }),
    ).toEqual({
      issuers: [{ issuer: 'https://sts.windows.net/t/' }],
      roleAssignments: [
        { principalId: 'oid-1', role: 'Azure Service Bus Data Receiver', scope: 'challenges' },
        { principalId: 'grp', role: 'Azure Service Bus Data Sender' },
      ],
    });
  });

  it('read --entra-config with caFile paths relative to it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-entra-flags-'));
    writeFileSync(join(dir, 'ca.pem'), 'PEM');
    writeFileSync(
      join(dir, 'entra.json'),
      JSON.stringify({ issuers: [{ issuer: 'https://i/', caFile: 'ca.pem' }], audiences: ['a'] }),
    );
    expect(resolveEntraFlags({ entraConfig: join(dir, 'entra.json') })).toEqual({
      issuers: [{ issuer: 'https://i/', ca: 'PEM' }],
      audiences: ['a'],
      roleAssignments: [],
    });
  });

  it('say what is wrong', () => {
    expect(() => resolveEntraFlags({ entraRole: ['x'] })).toThrow(CliUsageError);
    expect(() =>
      resolveEntraFlags({ entraIssuer: 'https://i/', entraRole: ['no-equals'] }),
    ).toThrow(/--entra-role must be <principalId>=<role>\[@<queue>\]/);
    expect(() => resolveEntraFlags({ entraCaFile: 'ca.pem' })).toThrow(/need --entra-issuer/);
  });
});
