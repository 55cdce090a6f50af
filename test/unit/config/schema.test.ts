import { describe, expect, it } from '@jest/globals';

import { parseConvictErrors } from '../../../src/config/convict-errors.js';
import { unknownEnvVars } from '../../../src/config/env-vars.js';
import { CONFIG_SCHEMA } from '../../../src/config/schema.js';
import { envVarFor, leaves } from '../../../src/config/schema-tree.js';

describe('the config schema', () => {
  const all = leaves(CONFIG_SCHEMA);

  // A section with a child named "default" would be taken for an option (convict's rule) and
  // fail here for lack of a format.
  it('documents every option and gives it a format and an environment variable', () => {
    for (const { path, leaf } of all) {
      expect([path, leaf.doc.length > 10, leaf.format.startsWith('podbus-')]).toEqual([
        path,
        true,
        true,
      ]);
      expect(leaf.env).toBe(envVarFor(path));
    }
    expect(new Set(all.map((l) => l.leaf.env)).size).toBe(all.length);
  });

  it('marks the secrets sensitive', () => {
    expect(all.filter((l) => l.leaf.sensitive).map((l) => l.path)).toEqual([
      'serviceBus.connectionString',
      'clusters',
    ]);
  });

  it('derives environment variable names from paths', () => {
    expect(envVarFor('serviceBus.maxAutoLockRenewalDurationMs')).toBe(
      'PODBUS_SERVICE_BUS_MAX_AUTO_LOCK_RENEWAL_DURATION_MS',
    );
    expect(envVarFor('pod.securityContext.runAsNonRoot')).toBe(
      'PODBUS_POD_SECURITY_CONTEXT_RUN_AS_NON_ROOT',
    );
  });
});

describe('parseConvictErrors', () => {
  it("splits convict's joined message into paths and messages, dropping echoed values", () => {
    expect(
      parseConvictErrors(
        [
          'log.level: must be one of: a, b: value was "x: value was y"',
          "configuration param 'foo.bar' not declared in the schema",
          "configuration param 'pod' missing from config, did you override its parent?",
          'serviceBus.connectionString: must be set',
          'something unexpected',
        ].join('\n'),
      ),
    ).toEqual([
      { path: 'log.level', message: 'must be one of: a, b' },
      { path: 'foo.bar', message: 'is not a podbus option' },
      { path: 'pod', message: 'is missing (was its section replaced?)' },
      { path: 'serviceBus.connectionString', message: 'must be set' },
      { path: '', message: 'something unexpected' },
    ]);
  });
});

describe('unknownEnvVars', () => {
  it('lists PODBUS_ variables that set nothing, with the likely intended one', () => {
    expect(
      unknownEnvVars({
        PODBUS_SERVICEBUS_QUEUE_NAME: 'x',
        PODBUS_LOG_LEVEL: 'debug',
        PODBUS_DOCKERD_LOG: '/tmp/x',
        HOME: '/root',
      }),
    ).toEqual([
      { name: 'PODBUS_DOCKERD_LOG' },
      { name: 'PODBUS_SERVICEBUS_QUEUE_NAME', suggestion: 'PODBUS_SERVICE_BUS_QUEUE_NAME' },
    ]);
  });
});
