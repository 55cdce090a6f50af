import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';

import {
  OFFICIAL_DEFAULTS,
  ServiceBusEmulatorConfigError,
  loadConfigFile,
  parseConfig,
  resolveConfig,
} from '../../src/config.js';

/** The official installer's sample (ServiceBus-Emulator/Config/Config.json), abridged. */
const OFFICIAL_SAMPLE = {
  UserConfig: {
    Namespaces: [
      {
        Name: 'sbemulatorns',
        Queues: [
          {
            Name: 'queue.1',
            Properties: {
              DeadLetteringOnMessageExpiration: false,
              DefaultMessageTimeToLive: 'PT1H',
              DuplicateDetectionHistoryTimeWindow: 'PT20S',
              ForwardDeadLetteredMessagesTo: '',
              ForwardTo: '',
              LockDuration: 'PT1M',
              MaxDeliveryCount: 3,
              RequiresDuplicateDetection: false,
              RequiresSession: false,
            },
          },
        ],
        Topics: [],
      },
    ],
    Logging: { Type: 'File' },
  },
};

function config(properties: Record<string, unknown>, name = 'q'): unknown {
  return {
    UserConfig: {
      Namespaces: [{ Name: 'sbemulatorns', Queues: [{ Name: name, Properties: properties }] }],
    },
  };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceBusEmulatorConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a config error');
}

describe('emulator config (official config.json format)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podbus-sb-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to one queue, challenges, with the official defaults', () => {
    const s = resolveConfig(undefined);
    expect(s.queues).toEqual([{ name: 'challenges', ...OFFICIAL_DEFAULTS }]);
    expect(s.warnings).toEqual([]);
  });

  it('reads the official sample unchanged', () => {
    const s = parseConfig(OFFICIAL_SAMPLE, 'sample');
    expect(s.namespace).toBe('sbemulatorns');
    expect(s.queues).toEqual([
      {
        name: 'queue.1',
        lockDurationMs: 60_000,
        maxDeliveryCount: 3,
        defaultMessageTimeToLiveMs: 3_600_000,
        deadLetteringOnMessageExpiration: false,
        requiresDuplicateDetection: false,
        duplicateDetectionHistoryTimeWindowMs: 20_000,
      },
    ]);
    expect(s.warnings).toEqual([]);
  });

  it('applies every property', () => {
    const [q] = parseConfig(
      config({
        LockDuration: 'PT5S',
        MaxDeliveryCount: 10,
        DefaultMessageTimeToLive: 'PT5M',
        DeadLetteringOnMessageExpiration: true,
        RequiresDuplicateDetection: true,
        DuplicateDetectionHistoryTimeWindow: 'PT5M',
      }),
      'c',
    ).queues;
    expect(q).toEqual({
      name: 'q',
      lockDurationMs: 5_000,
      maxDeliveryCount: 10,
      defaultMessageTimeToLiveMs: 300_000,
      deadLetteringOnMessageExpiration: true,
      requiresDuplicateDetection: true,
      duplicateDetectionHistoryTimeWindowMs: 300_000,
    });
  });

  it('names the file and field of a malformed value', () => {
    expect(errorOf(() => parseConfig(config({ LockDuration: '1 minute' }), 'my.json'))).toBe(
      'my.json: UserConfig.Namespaces[0].Queues[0].Properties.LockDuration must be an ISO-8601 duration such as "PT1M", got "1 minute"',
    );
    expect(errorOf(() => parseConfig(config({ MaxDeliveryCount: 0 }), 'c'))).toContain(
      'Properties.MaxDeliveryCount must be an integer >= 1, got 0',
    );
    expect(errorOf(() => parseConfig(config({ MaxDeliveryCount: '3' }), 'c'))).toContain(
      'MaxDeliveryCount',
    );
    expect(
      errorOf(() => parseConfig(config({ RequiresDuplicateDetection: 'yes' }), 'c')),
    ).toContain('RequiresDuplicateDetection must be true or false');
    expect(errorOf(() => parseConfig(config({ LockDuration: 'PT10M' }), 'c'))).toContain(
      'LockDuration must be at most PT5M',
    );
    expect(errorOf(() => parseConfig(config({ LockDuration: 'PT0S' }), 'c'))).toContain(
      'longer than zero',
    );
  });

  it('rejects structural problems', () => {
    expect(errorOf(() => parseConfig([], 'c'))).toContain('the top level must be a JSON object');
    expect(errorOf(() => parseConfig({}, 'c'))).toContain('UserConfig is required');
    expect(errorOf(() => parseConfig({ UserConfig: { Namespaces: [] } }, 'c'))).toContain(
      'exactly one namespace',
    );
    expect(errorOf(() => parseConfig(config({}, 'bad name!'), 'c'))).toContain('Queues[0].Name');
    const dup = {
      UserConfig: { Namespaces: [{ Queues: [{ Name: 'Orders' }, { Name: 'orders' }] }] },
    };
    expect(errorOf(() => parseConfig(dup, 'c'))).toContain(
      'Queues[1].Name duplicates queue "orders"',
    );
  });

  it('warns about what it accepts but does not do', () => {
    const s = parseConfig(
      {
        UserConfig: {
          Namespaces: [
            {
              Queues: [
                {
                  Name: 'q',
                  Properties: {
                    RequiresSession: true,
                    ForwardTo: 'other',
                    LockDuration: 'PT1S',
                    Typo: 1,
                  },
                },
              ],
              Topics: [{ Name: 't' }],
            },
          ],
        },
      },
      'c',
    );
    expect(s.queues[0]?.lockDurationMs).toBe(1_000);
    const text = s.warnings.join('\n');
    expect(text).toContain('topics and subscriptions are not supported');
    expect(text).toContain('RequiresSession: sessions are not supported');
    expect(text).toContain('ForwardTo: auto-forwarding is not supported');
    expect(text).toContain(
      "LockDuration: PT1S is outside the official emulator's range PT5S..PT5M",
    );
    expect(text).toContain('Typo: unknown property');
  });

  it('loads a file and reports unreadable or invalid JSON with the path', () => {
    const good = join(dir, 'config.json');
    writeFileSync(good, JSON.stringify(OFFICIAL_SAMPLE));
    expect(loadConfigFile(good).queues[0]?.name).toBe('queue.1');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "UserConfig": ');
    expect(errorOf(() => loadConfigFile(bad))).toContain(`config file ${bad} is not valid JSON`);
    expect(errorOf(() => loadConfigFile(join(dir, 'missing.json')))).toContain('ENOENT');
  });
});
