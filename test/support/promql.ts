/**
 * PromQL checks for the monitoring tests, on Prometheus's own grammar (@prometheus-io/lezer-promql,
 * the parser of the Prometheus web UI). The lezer parser recovers from errors by inserting error
 * nodes, so an expression is valid when its tree has none; on top of the grammar, the one type
 * rule that a typo most often breaks is checked: functions over time take a range vector.
 */
import { parser } from '@prometheus-io/lezer-promql';

/** Functions whose (first) argument must be a range vector: `rate(x[5m])`, not `rate(x)`. */
const RANGE_FUNCTIONS = new Set([
  'Rate',
  'Irate',
  'Increase',
  'Delta',
  'Idelta',
  'Deriv',
  'Changes',
  'Resets',
  'PredictLinear',
  'AvgOverTime',
  'MinOverTime',
  'MaxOverTime',
  'SumOverTime',
  'CountOverTime',
  'LastOverTime',
  'QuantileOverTime',
  'StddevOverTime',
  'StdvarOverTime',
  'PresentOverTime',
  'AbsentOverTime',
]);

/** Why `expr` is not valid PromQL; empty when it is. */
export function promqlProblems(expr: string): string[] {
  const problems: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        problems.push(`syntax error at ${node.from}: …${expr.slice(node.from, node.from + 20)}`);
        return;
      }
      if (node.name !== 'FunctionCall') return;
      const fn = node.node.getChild('FunctionIdentifier')?.firstChild?.name;
      if (fn === undefined || !RANGE_FUNCTIONS.has(fn)) return;
      const body = node.node.getChild('FunctionCallBody');
      const arg = fn === 'QuantileOverTime' ? body?.firstChild?.nextSibling : body?.firstChild;
      if (arg?.name !== 'MatrixSelector' && arg?.name !== 'SubqueryExpr') {
        problems.push(
          `${expr.slice(node.from, node.to)}: ${fn} needs a range vector (x[5m] or a subquery)`,
        );
      }
    },
  });
  return problems;
}

/** The metric names an expression selects (`foo` of `foo{a="b"}`), in order of appearance. */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return;
      const identifier = node.node.getChild('Identifier');
      if (identifier) names.push(expr.slice(identifier.from, identifier.to));
    },
  });
  return names;
}
