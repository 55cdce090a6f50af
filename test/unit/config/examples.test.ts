import { describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadConfig } from '../../../src/config/load-config.js';
import { buildPod } from '../../../src/pod/build-pod.js';
import { policyForConfig } from '../../../src/policy/policy.js';
import { admitChallenge } from '../../../src/worker/prepare.js';
import { CA_PEM, CONNECTION_STRING, errorOf, scratch } from './config-fixture.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const env = { PODBUS_SERVICE_BUS_CONNECTION_STRING: CONNECTION_STRING };

describe('examples/podbus.yaml and examples/clusters.yaml', () => {
  it('load as they are, except for the secrets they point at (not on this machine)', () => {
    const secrets = '/var/run/secrets/podbus';
    expect(errorOf({ file: join(EXAMPLES, 'podbus.yaml'), env })).toBe(
      [
        'invalid configuration (4 problems):',
        `  - clusters[0].tokenFile: cannot read "${secrets}/aks-westeurope/token": no such file or directory (in ${join(EXAMPLES, 'clusters.yaml')})`,
        `  - clusters[0].caFile: cannot read "${secrets}/aks-westeurope/ca.crt": no such file or directory (in ${join(EXAMPLES, 'clusters.yaml')})`,
        `  - clusters[1].tokenFile: cannot read "${secrets}/aks-northeurope/token": no such file or directory (in ${join(EXAMPLES, 'clusters.yaml')})`,
        `  - clusters[1].caFile: cannot read "${secrets}/aks-northeurope/ca.crt": no such file or directory (in ${join(EXAMPLES, 'clusters.yaml')})`,
      ].join('\n'),
    );
  });

  it('are valid once the mounted secrets exist', () => {
    const s = scratch();
    for (const cluster of ['aks-westeurope', 'aks-northeurope']) {
      mkdirSync(join(s.dir, cluster));
      s.write(`${cluster}/token`, 'token');
      s.write(`${cluster}/ca.crt`, CA_PEM);
    }
    copyFileSync(join(EXAMPLES, 'podbus.yaml'), join(s.dir, 'podbus.yaml'));
    const clusters = readFileSync(join(EXAMPLES, 'clusters.yaml'), 'utf8');
    writeFileSync(
      join(s.dir, 'clusters.yaml'),
      clusters.replaceAll('/var/run/secrets/podbus', s.dir),
    );

    const config = loadConfig({ file: join(s.dir, 'podbus.yaml'), env });
    expect(config.clusters.map((c) => [c.name, c.namespace, c.weight, c.maxActivePods])).toEqual([
      ['aks-westeurope', 'challenges', 2, 50],
      ['aks-northeurope', 'challenges', 1, 50],
    ]);
    expect(config.policy.allowedImages).toEqual([
      'myacr.azurecr.io/challenges/*',
      'docker.io/library/nginx',
    ]);
    expect(config.pod.labels).toEqual({ team: 'bootcamp' });
    expect(config.results).toMatchObject({
      queueName: 'challenge-results',
      allowedReplyTo: ['team-*-results'],
    });
    expect(config.cleanup).toMatchObject({ ttlSecondsAfterFinished: 3600 });

    // The loaded config drives parsing and pod building as the worker will use it.
    const policy = policyForConfig(config);
    const body = Buffer.from(
      '{"challengeId":"c","containers":[{"image":"nginx"}],"labels":{"team":"x"}}',
    );
    expect(admitChallenge({ messageId: 'm', body }, policy)).toEqual({
      ok: false,
      reason: 'PolicyViolation',
      description: '/labels key "team" is set by podbus and cannot be overridden',
    });
    const ok = admitChallenge(
      { messageId: 'm', body: Buffer.from('{"challengeId":"c","containers":[{"image":"nginx"}]}') },
      policy,
    );
    if (!ok.ok) throw new Error(ok.description);
    expect(buildPod(ok.request, config).spec?.activeDeadlineSeconds).toBe(3600);
  });
});
