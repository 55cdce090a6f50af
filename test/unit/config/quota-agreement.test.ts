import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse } from 'yaml';

import { effectiveResources } from '../../../src/policy/resources.js';
import {
  compareQuantities,
  mustParseQuantity,
  type Quantity,
} from '../../../src/policy/quantity.js';
import { loadShippedConfig as load } from './config-fixture.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The ResourceQuota every target cluster gets from deploy/target-cluster. */
const quota = (
  parse(read('deploy/target-cluster/resourcequota.yaml')) as {
    spec: { hard: Record<string, string> };
  }
).spec.hard;

const configMap = parse(read('deploy/worker/base/configmap.yaml')) as {
  data: Record<string, string>;
};

/** The shipped configurations whose clusters are prepared with deploy/target-cluster. */
const shipped: [string, string, string][] = [
  ['deploy/worker', configMap.data['podbus.yaml']!, configMap.data['clusters.yaml']!],
  ['examples', read('examples/podbus.yaml'), read('examples/clusters.yaml')],
  ['deploy/compose', read('deploy/compose/podbus.yaml'), read('deploy/compose/clusters-k3s.yaml')],
];

function times(q: Quantity, n: number): Quantity {
  return {
    text: `${n} x ${q.text}`,
    numerator: q.numerator * BigInt(n),
    denominator: q.denominator,
  };
}

describe('deploy/target-cluster ResourceQuota and the shipped maxActivePods agree', () => {
  it.each(shipped)(
    '%s: maxActivePods pods of the default size fit the quota',
    (_where, podbusYaml, clustersYaml) => {
      const config = load(podbusYaml, clustersYaml);
      const pod = effectiveResources(undefined, config.policy.resources.defaults);
      const perPod: Record<string, string> = {
        'requests.cpu': pod.requests.cpu,
        'requests.memory': pod.requests.memory,
        'limits.cpu': pod.limits.cpu,
        'limits.memory': pod.limits.memory,
      };
      const overshoot = config.clusters.flatMap((cluster) => {
        const n = cluster.maxActivePods;
        const problems =
          n === 0 || n > Number(quota.pods)
            ? [
                `${cluster.name}: maxActivePods ${n === 0 ? '0 (unbounded)' : n} > pods ${quota.pods}`,
              ]
            : [];
        for (const [resource, amount] of Object.entries(perPod)) {
          const needed = times(mustParseQuantity(amount), n);
          if (compareQuantities(needed, mustParseQuantity(quota[resource]!)) > 0) {
            problems.push(`${cluster.name}: ${resource} ${needed.text} > ${quota[resource]}`);
          }
        }
        return problems;
      });
      expect(overshoot).toEqual([]);
    },
  );
});
