import { PODBUS_LABEL_KEYS } from '../message/metadata-keys.js';
import { imagePatternProblem } from '../policy/image-allowlist.js';
import { keyHasDomainPrefix, labelKeyProblem, labelValueProblem } from '../policy/label-syntax.js';
import { compareQuantities, isZeroQuantity, parseQuantity } from '../policy/quantity.js';
import { replyToQueue } from '../message/reply-to.js';
import { replyToPatternProblem } from '../policy/result-queue.js';
import type { ConfigProblem } from './config-error.js';

/**
 * Checks that need more than one option, or more than a format can say. They run after convict
 * validated each option, and skip any option convict already reported (`broken`), so one
 * mistake is reported once. The rules are listed in CROSS_CHECK_DOCS for the reference.
 */
export const CROSS_CHECK_DOCS: readonly string[] = [
  'policy.allowedImages must list at least one valid pattern (tags and digests are not allowed in patterns).',
  'policy.resources.defaults: each request must not exceed its limit, and each limit must not exceed policy.resources.max; no default and no maximum may be zero.',
  'policy.defaultActiveDeadlineSeconds must not exceed policy.maxActiveDeadlineSeconds.',
  'worker.transientRetryBudgetMs must be less than serviceBus.maxAutoLockRenewalDurationMs.',
  'worker.retry.initialDelayMs must not exceed worker.retry.maxDelayMs.',
  "pod.labels must be valid Kubernetes labels and may not use podbus's own keys; pod.annotations keys must be valid and may not use the podbus.io/ prefix.",
  'policy.labels.forbiddenPrefixes entries must be DNS subdomains such as example.com.',
  'An EntityPath in serviceBus.connectionString must equal serviceBus.queueName.',
  'One of clusters and clustersFile (from the later source when both are set; both in one source is an error), with at least one entry; entry names unique.',
  'results.queueName, when set, must be a Service Bus queue name; results.allowedReplyTo entries may only hold letters, digits, ".", "_", "-", "/" and "*".',
  'leaderElection.renewDeadlineSeconds must be less than leaderElection.leaseDurationSeconds, and more than 1.2 × leaderElection.retryPeriodSeconds (as client-go requires).',
];

type Get = (path: string) => unknown;

export function crossChecks(get: Get, broken: ReadonlySet<string>): ConfigProblem[] {
  const ok = (...paths: string[]): boolean => paths.every((p) => !broken.has(p));
  return [
    ...(ok('policy.allowedImages') ? allowlist(get('policy.allowedImages') as string[]) : []),
    ...resourceDefaults(get, ok),
    ...notAbove(get, ok, 'policy.defaultActiveDeadlineSeconds', 'policy.maxActiveDeadlineSeconds'),
    ...retryBudget(get, ok),
    ...notAbove(get, ok, 'worker.retry.initialDelayMs', 'worker.retry.maxDelayMs'),
    ...(ok('pod.labels') ? podLabels(get('pod.labels') as Record<string, string>) : []),
    ...(ok('pod.annotations')
      ? podAnnotations(get('pod.annotations') as Record<string, string>)
      : []),
    ...(ok('policy.labels.forbiddenPrefixes')
      ? forbiddenPrefixes(get('policy.labels.forbiddenPrefixes') as string[])
      : []),
    ...(ok('results.queueName') ? resultsQueue(get('results.queueName') as string) : []),
    ...(ok('results.allowedReplyTo')
      ? replyToPatterns(get('results.allowedReplyTo') as string[])
      : []),
    ...leaseTimings(get, ok),
  ];
}

function resultsQueue(queue: string): ConfigProblem[] {
  if (queue === '' || replyToQueue(queue) !== undefined) return [];
  return [
    {
      path: 'results.queueName',
      message: `"${queue}" is not a Service Bus queue name (letters, digits, ".", "-", "_" and "/", starting and ending with a letter or digit, at most 260)`,
    },
  ];
}

function replyToPatterns(patterns: readonly string[]): ConfigProblem[] {
  return patterns.flatMap((pattern, i) => {
    const problem = replyToPatternProblem(pattern);
    return problem ? [{ path: `results.allowedReplyTo[${i}]`, message: problem }] : [];
  });
}

/** client-go's own checks (NewLeaderElector): otherwise two leaders could overlap. */
function leaseTimings(get: Get, ok: (...p: string[]) => boolean): ConfigProblem[] {
  const duration = 'leaderElection.leaseDurationSeconds';
  const deadline = 'leaderElection.renewDeadlineSeconds';
  const retry = 'leaderElection.retryPeriodSeconds';
  const problems: ConfigProblem[] = [];
  if (ok(duration, deadline) && (get(deadline) as number) >= (get(duration) as number)) {
    problems.push({
      path: deadline,
      message: `is ${String(get(deadline))}, not less than ${duration} (${String(get(duration))})`,
      hint: 'the leader must give up before the others may take over: lower the deadline or raise the duration',
    });
  }
  if (ok(deadline, retry) && (get(deadline) as number) <= 1.2 * (get(retry) as number)) {
    problems.push({
      path: deadline,
      message: `is ${String(get(deadline))}, not more than 1.2 × ${retry} (${String(get(retry))})`,
      hint: 'the leader needs room for more than one renewal attempt before its deadline',
    });
  }
  return problems;
}

function allowlist(patterns: readonly string[]): ConfigProblem[] {
  if (patterns.length === 0) {
    return [
      {
        path: 'policy.allowedImages',
        message: 'is empty; podbus refuses to start without an image allowlist',
        hint: 'list the images messages may run, e.g. ["myacr.azurecr.io/challenges/*"], or ["*"] to allow any image (PODBUS_POLICY_ALLOWED_IMAGES takes a comma-separated list)',
      },
    ];
  }
  return patterns.flatMap((pattern, i) => {
    const problem = imagePatternProblem(pattern);
    return problem ? [{ path: `policy.allowedImages[${i}]`, message: problem }] : [];
  });
}

function resourceDefaults(get: Get, ok: (...p: string[]) => boolean): ConfigProblem[] {
  const base = 'policy.resources';
  return (['cpu', 'memory'] as const).flatMap((name) => [
    ...notAbove(get, ok, `${base}.defaults.requests.${name}`, `${base}.defaults.limits.${name}`),
    ...notAbove(get, ok, `${base}.defaults.limits.${name}`, `${base}.max.${name}`),
    ...[
      `${base}.defaults.requests.${name}`,
      `${base}.defaults.limits.${name}`,
      `${base}.max.${name}`,
    ].flatMap((path) => notZero(get, ok, path)),
  ]);
}

/** A zero quantity: Kubernetes reads a zero limit as no limit, and messages get the defaults. */
function notZero(get: Get, ok: (...p: string[]) => boolean, path: string): ConfigProblem[] {
  if (!ok(path)) return [];
  const parsed = parseQuantity(get(path) as string);
  if (!parsed.ok || !isZeroQuantity(parsed.quantity)) return [];
  return [{ path, message: `is ${JSON.stringify(get(path))}; it must be more than 0` }];
}

/** `lower` must not exceed `upper` (numbers or quantities). */
function notAbove(
  get: Get,
  ok: (...p: string[]) => boolean,
  lower: string,
  upper: string,
): ConfigProblem[] {
  if (!ok(lower, upper)) return [];
  const a = get(lower);
  const b = get(upper);
  if (compare(a, b) <= 0) return [];
  return [
    {
      path: lower,
      message: `is ${JSON.stringify(a)}, more than ${upper} (${JSON.stringify(b)})`,
    },
  ];
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const left = parseQuantity(a as string);
  const right = parseQuantity(b as string);
  return left.ok && right.ok ? compareQuantities(left.quantity, right.quantity) : 0;
}

function retryBudget(get: Get, ok: (...p: string[]) => boolean): ConfigProblem[] {
  const budget = 'worker.transientRetryBudgetMs';
  const lock = 'serviceBus.maxAutoLockRenewalDurationMs';
  if (!ok(budget, lock) || (get(budget) as number) < (get(lock) as number)) return [];
  return [
    {
      path: budget,
      message: `is ${String(get(budget))}, not less than ${lock} (${String(get(lock))})`,
      hint: 'a message must be given back before its lock stops being renewed; lower the budget or raise the renewal duration',
    },
  ];
}

function podLabels(labels: Readonly<Record<string, string>>): ConfigProblem[] {
  return Object.entries(labels).flatMap(([key, value]): ConfigProblem[] => {
    const problem =
      labelKeyProblem(key) ??
      (PODBUS_LABEL_KEYS.includes(key) ? `"${key}" is set by podbus itself` : undefined) ??
      labelValueProblem(value);
    return problem ? [{ path: 'pod.labels', message: problem }] : [];
  });
}

function podAnnotations(annotations: Readonly<Record<string, string>>): ConfigProblem[] {
  return Object.keys(annotations).flatMap((key): ConfigProblem[] => {
    const problem =
      labelKeyProblem(key)?.replace('label key', 'annotation key') ??
      (keyHasDomainPrefix(key, 'podbus.io')
        ? `"${key}" uses the reserved prefix podbus.io/`
        : undefined);
    return problem ? [{ path: 'pod.annotations', message: problem }] : [];
  });
}

function forbiddenPrefixes(prefixes: readonly string[]): ConfigProblem[] {
  return prefixes.flatMap((prefix, i): ConfigProblem[] => {
    const domain = prefix.replace(/\/$/, '');
    return labelKeyProblem(`${domain}/x`) === undefined
      ? []
      : [
          {
            path: `policy.labels.forbiddenPrefixes[${i}]`,
            message: `"${prefix}" is not a DNS subdomain such as example.com`,
          },
        ];
  });
}
