import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse, stringify } from 'yaml';

import { loadConfig } from '../../../src/config/load-config.js';
import { effectiveResources } from '../../../src/policy/resources.js';
import {
  compareQuantities,
  mustParseQuantity,
  type Quantity,
} from '../../../src/policy/quantity.js';
import { CA_PEM, CONNECTION_STRING, scratch } from './config-fixture.js';

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

/** Loads a config and its clusters file as the worker would, with stand-in secret files. */
function load(podbusYaml: string, clustersYaml: string) {
  const s = scratch();
  const entries = (parse(clustersYaml) as Record<string, string>[]).map((entry) => {
    const moved = { ...entry };
    for (const key of ['tokenFile', 'caFile'] as const) {
      const file = join(s.dir, entry[key]!);
      mkdirSync(dirname(file), { recursive: true });
      s.write(file.slice(s.dir.length + 1), key === 'caFile' ? CA_PEM : 'token');
      moved[key] = file;
    }
    return moved;
  });
  return loadConfig({
    file: s.write('podbus.yaml', podbusYaml),
    env: { PODBUS_SERVICE_BUS_CONNECTION_STRING: CONNECTION_STRING },
    overrides: { clustersFile: s.write('clusters.yaml', stringify(entries)) },
  });
}

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
