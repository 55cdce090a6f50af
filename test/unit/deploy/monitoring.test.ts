/**
 * deploy/monitoring: the Grafana dashboard is a well-formed dashboard, every PromQL expression in
 * it and in the PrometheusRule parses with Prometheus's own grammar, every series they select is
 * one podbus exports (with labels it has) or one the rules record, and the PrometheusRule and
 * ServiceMonitor validate against prometheus-operator's CRD schemas. Nothing here needs a
 * Prometheus or a Grafana; what they would reject, these checks reject first.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from '@jest/globals';
import type { Metric } from 'prom-client';

import { WorkerMetrics } from '../../../src/observability/metrics.js';
import { metricNames, promqlProblems } from '../../support/promql.js';
import {
  deployDir,
  readYamlDocuments,
  validateKubeObject,
  type KubeObject,
} from '../../system/deploy-manifests.js';

const dir = path.join(deployDir, 'monitoring');

// ---------------------------------------------------------------------------------------------
// What the files hold (only the fields the assertions read).
interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  type: string;
  name: string;
  query?: string | { query: string };
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
type PrometheusRule = KubeObject & { spec: { groups: { name: string; rules: Rule[] }[] } };

const dashboard = JSON.parse(
  readFileSync(path.join(dir, 'grafana-dashboard.json'), 'utf8'),
) as Dashboard;
const objects = readYamlDocuments(path.join(dir, 'prometheusrule.yaml'))
  .concat(readYamlDocuments(path.join(dir, 'servicemonitor.yaml')))
  .map((d) => d.value as KubeObject);
const ruleObject = objects.find((o) => o.kind === 'PrometheusRule') as PrometheusRule;
const rules = ruleObject.spec.groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert !== undefined);
const recorded = new Set(rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));

/** Every panel, those inside collapsed rows included. */
const panels: Panel[] = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = panels.filter((p) => p.type !== 'row');
const variables = dashboard.templating?.list ?? [];

/** Grafana's own variables that a query may use, and the value used to parse it. */
const GRAFANA_VARIABLES: Record<string, string> = {
  __rate_interval: '5m',
  __interval: '1m',
  __range: '6h',
};

/** The dashboard's queries as Prometheus receives them: Grafana's variables substituted. */
function interpolate(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (_m, name: string) => GRAFANA_VARIABLES[name] ?? name);
}

/** `$name` and `${name}` references in a query. */
function variableRefs(text: string): string[] {
  return [...text.matchAll(/\$\{?(\w+)\}?/g)].map((m) => m[1] as string);
}

/** The selector inside `label_values(selector, label)`, the variable query form. */
function labelValuesSelector(query: string): string {
  const match = /^label_values\((.+),\s*(\w+)\)$/.exec(query.trim());
  if (match === null) throw new Error(`not a label_values() query: ${query}`);
  return match[1] as string;
}

const variableQueries = variables
  .filter((v) => v.type === 'query')
  .map((v) => (typeof v.query === 'string' ? v.query : (v.query?.query ?? '')));

const dashboardExprs = queryPanels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title ?? '?', expr: t.expr ?? '' })),
);

// ---------------------------------------------------------------------------------------------
// What podbus exports: names and label names, from the worker's own registry.
const registry = new WorkerMetrics({ defaultMetrics: false }).registry;
/** Labels every scraped series gets from the target (ServiceMonitor / annotation scraping). */
const TARGET_LABELS = ['namespace', 'pod', 'job', 'instance', 'service', 'container', 'endpoint'];
/** Series from elsewhere that the rules read, with their labels. */
const EXTERNAL_SERIES: Record<string, readonly string[]> = {
  // KEDA's operator (pkg/metricscollector/prommetrics.go: metricLabels).
  keda_scaler_metrics_value: [
    'namespace',
    'exported_namespace',
    'metric',
    'scaledObject',
    'scaler',
    'triggerIndex',
    'type',
  ],
};

function labelsOf(series: string): readonly string[] | undefined {
  if (EXTERNAL_SERIES[series]) return EXTERNAL_SERIES[series];
  if (recorded.has(series)) return ['namespace'];
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(series);
  for (const [name, extra] of [
    [series, []],
    ...(histogram ? [[histogram[1] as string, histogram[2] === 'bucket' ? ['le'] : []]] : []),
  ] as [string, string[]][]) {
    const metric = registry.getSingleMetric(name) as
      (Metric & { labelNames?: readonly string[]; constructor: { name: string } }) | undefined;
    if (metric === undefined) continue;
    if (name !== series && metric.constructor.name !== 'Histogram') continue;
    return [...(metric.labelNames ?? []), ...extra, ...TARGET_LABELS];
  }
  return undefined;
}

/** Label names an expression matches on, per selected series: `foo{a="x"}` -> foo: [a]. */
function matchedLabels(expr: string): { series: string; label: string }[] {
  const found: { series: string; label: string }[] = [];
  for (const match of expr.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)) {
    const series = match[1] as string;
    for (const m of (match[2] as string).matchAll(/(\w+)\s*(=~|!~|!=|=)/g)) {
      found.push({ series, label: m[1] as string });
    }
  }
  return found;
}

const allExprs = [
  ...dashboardExprs.map((d) => ({ where: `dashboard panel "${d.panel}"`, expr: d.expr })),
  ...variableQueries.map((q) => ({ where: 'dashboard variable', expr: labelValuesSelector(q) })),
  ...rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr })),
];

// ---------------------------------------------------------------------------------------------
describe('the PromQL checker', () => {
  it('accepts valid PromQL and names the series it selects', () => {
    const expr = 'sum by (le) (rate(a_bucket{x="1"}[5m])) / on () group_left b:c:d > 0';
    expect(promqlProblems(expr)).toEqual([]);
    expect(metricNames(expr)).toEqual(['a_bucket', 'b:c:d']);
  });

  it('rejects a syntax error and a rate over an instant vector', () => {
    expect(promqlProblems('sum by (x (rate(a[5m]))')).not.toEqual([]);
    expect(promqlProblems('rate(a)')).toEqual([
      'rate(a): Rate needs a range vector (x[5m] or a subquery)',
    ]);
    expect(promqlProblems('max_over_time(a[5m:1m])')).toEqual([]);
  });
});

describe('every PromQL expression', () => {
  it('is there to check', () => {
    expect(dashboardExprs.length).toBeGreaterThan(10);
    expect(rules.length).toBeGreaterThan(3);
  });

  it.each(allExprs.map((e) => [e.where, e.expr]))('%s parses: %s', (_where, expr) => {
    expect(promqlProblems(interpolate(expr))).toEqual([]);
  });

  it.each(allExprs.map((e) => [e.where, e.expr]))(
    '%s selects series podbus exports, with their labels: %s',
    (_where, expr) => {
      const plain = interpolate(expr);
      const names = metricNames(plain);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names)
        expect({ name, known: labelsOf(name) !== undefined }).toEqual({
          name,
          known: true,
        });
      for (const { series, label } of matchedLabels(plain)) {
        expect({ series, label, known: labelsOf(series)?.includes(label) }).toEqual({
          series,
          label,
          known: true,
        });
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
describe('the Grafana dashboard', () => {
  const CORE_PANEL_TYPES = ['row', 'timeseries', 'stat', 'state-timeline', 'bargauge', 'table'];

  it('has what Grafana needs to import it', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toEqual(expect.any(String));
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(Array.isArray(dashboard.panels)).toBe(true);
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
  });

  it('gives every panel a unique id, a core type, a title and a description', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect({ id: p.id, type: CORE_PANEL_TYPES.includes(p.type ?? '') }).toEqual({
        id: expect.any(Number),
        type: true,
      });
      expect(p.title).toEqual(expect.any(String));
      if (p.type !== 'row') expect(p.description).toEqual(expect.any(String));
    }
  });

  it('lays the panels out on the 24-column grid without overlaps', () => {
    const boxes = panels.map(
      (p) => ({ title: p.title, ...p.gridPos }) as Required<Panel>['gridPos'] & { title: string },
    );
    for (const b of boxes) {
      expect(b).toEqual({
        title: b.title,
        x: expect.any(Number),
        y: expect.any(Number),
        w: expect.any(Number),
        h: expect.any(Number),
      });
      expect(b.x >= 0 && b.w > 0 && b.h > 0 && b.x + b.w <= 24).toBe(true);
    }
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect({ a: a.title, b: b.title, overlap }).toEqual({
          a: a.title,
          b: b.title,
          overlap: false,
        });
      }
    }
  });

  it('queries the chosen Prometheus data source, with unique refIds per panel', () => {
    for (const p of queryPanels) {
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const targets = p.targets ?? [];
      expect(targets.length).toBeGreaterThan(0);
      const refIds = targets.map((t) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const t of targets) {
        expect(t.expr).toEqual(expect.any(String));
        expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    }
  });

  it('uses only variables it defines (or Grafana’s own)', () => {
    const defined = new Set([...variables.map((v) => v.name), ...Object.keys(GRAFANA_VARIABLES)]);
    const used = [...dashboardExprs.map((d) => d.expr), ...variableQueries].flatMap(variableRefs);
    expect(used.length).toBeGreaterThan(0);
    for (const name of used)
      expect({ name, defined: defined.has(name) }).toEqual({ name, defined: true });
  });

  it('shows results by outcome, result lag, pods deleted and the leader per cluster', () => {
    const shown = (metric: string, by: string) =>
      dashboardExprs.some(
        (d) => metricNames(interpolate(d.expr)).includes(metric) && d.expr.includes(`by (${by})`),
      );
    expect({
      resultsByOutcome: shown('podbus_results_sent_total', 'outcome'),
      resultLag: shown('podbus_result_lag_seconds_bucket', 'le, cluster'),
      unsent: shown('podbus_results_unsent', 'cluster'),
      podsDeleted: shown('podbus_pods_deleted_total', 'reason'),
      leaderPerCluster: shown('podbus_results_leader', 'cluster'),
    }).toEqual({
      resultsByOutcome: true,
      resultLag: true,
      unsent: true,
      podsDeleted: true,
      leaderPerCluster: true,
    });
  });

  it('shows throughput, outcomes, dead letters by reason, breaker state and capacity', () => {
    const shown = (metric: string, by?: string) =>
      dashboardExprs.some(
        (d) =>
          metricNames(interpolate(d.expr)).includes(metric) &&
          (by === undefined || d.expr.includes(`by (${by})`)),
      );
    expect({
      throughput: shown('podbus_messages_received_total'),
      outcomes: shown('podbus_messages_settled_total', 'outcome'),
      deadLettersByReason: shown('podbus_messages_dead_lettered_total', 'reason'),
      breaker: shown('podbus_cluster_healthy', 'cluster'),
      activePods: shown('podbus_cluster_active_pods', 'cluster'),
      capacity: shown('podbus_cluster_capacity_pods', 'cluster'),
    }).toEqual({
      throughput: true,
      outcomes: true,
      deadLettersByReason: true,
      breaker: true,
      activePods: true,
      capacity: true,
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe('the PrometheusRule and the ServiceMonitor', () => {
  it('validate against prometheus-operator’s CRD schemas', () => {
    expect(objects.map((o) => [o.kind, validateKubeObject(o)])).toEqual([
      ['PrometheusRule', 'crd-schema'],
      ['ServiceMonitor', 'crd-schema'],
    ]);
  });

  it('the CRD schema catches a mistake (a `for` that is not a duration, an unknown field)', () => {
    const broken = structuredClone(ruleObject);
    const first = broken.spec.groups[1]?.rules[0] as Rule & Record<string, unknown>;
    first.for = '15 minutes';
    first.severity = 'critical'; // belongs under labels
    expect(() => validateKubeObject(broken)).toThrow(/for must match pattern/);
    expect(() => validateKubeObject(broken)).toThrow(
      /rules\/0 must NOT have additional properties/,
    );
  });

  it('reads the CRD’s Go patterns as Go does ((?i) is case-insensitive)', () => {
    const group = (strategy: string) => {
      const copy = structuredClone(ruleObject);
      (copy.spec.groups[0] as Record<string, unknown>).partial_response_strategy = strategy;
      return copy;
    };
    expect(validateKubeObject(group('ABORT'))).toBe('crd-schema');
    expect(() => validateKubeObject(group('maybe'))).toThrow(/must match pattern/);
  });

  it('pages for the problems the issue names, each with a severity and what to do', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      'PodbusClusterCircuitOpen',
      'PodbusDeadLettersGrowing',
      'PodbusQueueNotDraining',
      'PodbusResultsLagging',
    ]);
    for (const a of alerts) {
      expect(a).toMatchObject({
        for: expect.stringMatching(/^\d+m$/),
        labels: { severity: 'critical' },
        annotations: { summary: expect.any(String), description: expect.any(String) },
      });
    }
  });

  it('scrapes the worker’s podbus-metrics Service on its metrics port', () => {
    const service = readYamlDocuments(path.join(deployDir, 'worker/base/service.yaml'))[0]
      ?.value as KubeObject & { spec: { ports: { name: string }[] } };
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor') as KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
    };
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints.map((e) => e.port)).toEqual(
      service.spec.ports.map((p) => p.name),
    );
  });
});
