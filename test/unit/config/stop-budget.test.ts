import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse } from 'yaml';

import { worstCaseStopMs } from '../../../src/app/worker-app.js';
import { loadShippedConfig } from './config-fixture.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Time the process needs after the worker stopped: exit, last log lines flushed. */
const EXIT_MARGIN_MS = 3_000;

describe('deploy/worker: the worker stops before the kubelet kills it', () => {
  it('worst-case stop time + exit fits inside terminationGracePeriodSeconds', () => {
    const deployment = parse(read('deploy/worker/base/deployment.yaml')) as {
      spec: { template: { spec: { terminationGracePeriodSeconds: number } } };
    };
    const configMap = parse(read('deploy/worker/base/configmap.yaml')) as {
      data: Record<string, string>;
    };
    const config = loadShippedConfig(
      configMap.data['podbus.yaml']!,
      configMap.data['clusters.yaml']!,
    );
    const graceMs = deployment.spec.template.spec.terminationGracePeriodSeconds * 1000;
    expect(worstCaseStopMs(config) + EXIT_MARGIN_MS).toBeLessThanOrEqual(graceMs);
    // Tracing adds the bounded export of the last spans.
    expect(worstCaseStopMs(config, { tracing: true })).toBe(worstCaseStopMs(config) + 2_000);
    expect(worstCaseStopMs(config, { tracing: true }) + EXIT_MARGIN_MS).toBeLessThanOrEqual(
      graceMs,
    );
  });
});
