import type { ChallengeRequest, ContainerRequest } from '../message/challenge-request.js';
import { imageAllowedProblem } from './check-image.js';
import { labelKeyProblem, labelValueProblem, keyHasDomainPrefix } from './label-syntax.js';
import type { Policy } from './policy.js';
import { compareQuantities, isZeroQuantity, parseQuantity } from './quantity.js';
import { effectiveResources, RESOURCE_NAMES } from './resources.js';

/** One thing a message asks for that the operator's policy does not allow. */
export interface PolicyViolation {
  /** JSON Pointer into the (camelCase) message, e.g. `/containers/0/image`. */
  readonly path: string;
  /** Reads as a sentence after the path: `/containers has 7 containers; ...`. */
  readonly message: string;
}

/** Every policy violation of a schema-valid request (empty when it may run). */
export function checkPolicy(request: ChallengeRequest, policy: Policy): PolicyViolation[] {
  return [
    ...checkContainerCount(request, policy),
    ...request.containers.flatMap((c, i) => checkContainer(c, `/containers/${i}`, policy)),
    ...checkDeadline(request, policy),
    ...checkLabels(request, policy),
  ];
}

export function formatViolation(violation: PolicyViolation): string {
  return `${violation.path} ${violation.message}`;
}

function checkContainerCount(request: ChallengeRequest, policy: Policy): PolicyViolation[] {
  const count = request.containers.length;
  return count > policy.maxContainers
    ? [
        {
          path: '/containers',
          message: `has ${count} containers; policy allows at most ${policy.maxContainers}`,
        },
      ]
    : [];
}

function checkContainer(
  container: ContainerRequest,
  path: string,
  policy: Policy,
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const imageProblem = imageAllowedProblem(container.image, policy.images);
  if (imageProblem) violations.push({ path: `${path}/image`, message: imageProblem });
  if (container.env.length > policy.maxEnvVarsPerContainer) {
    violations.push({
      path: `${path}/env`,
      message: `has ${container.env.length} variables; policy allows at most ${policy.maxEnvVarsPerContainer}`,
    });
  }
  violations.push(...checkResources(container, path, policy));
  return violations;
}

function checkResources(
  container: ContainerRequest,
  path: string,
  policy: Policy,
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  // Only values that are quantities above zero take part in the request <= limit check.
  let comparable = true;
  for (const kind of ['requests', 'limits'] as const) {
    for (const name of RESOURCE_NAMES) {
      const text = container.resources?.[kind]?.[name];
      if (text === undefined) continue;
      const where = `${path}/resources/${kind}/${name}`;
      const parsed = parseQuantity(text);
      if (!parsed.ok) {
        comparable = false;
        violations.push({ path: where, message: parsed.problem });
      } else if (isZeroQuantity(parsed.quantity)) {
        comparable = false;
        // A zero limit is no limit at all for Kubernetes (the container may use the whole
        // node, past any LimitRange max), and a zero request escapes requests.* quotas.
        violations.push({
          path: where,
          message: `"${text}" is zero; ${kind} must be more than 0 (leave ${name} out to get the default "${policy.resources.defaults[kind][name]}")`,
        });
      } else if (compareQuantities(parsed.quantity, policy.maxQuantity[name]) > 0) {
        violations.push({
          path: where,
          message: `"${text}" is more than the allowed maximum "${policy.resources.max[name]}"`,
        });
      }
    }
  }
  if (!comparable) return violations;
  const effective = effectiveResources(container.resources, policy.resources.defaults);
  for (const name of RESOURCE_NAMES) {
    const request = parseQuantity(effective.requests[name]);
    const limit = parseQuantity(effective.limits[name]);
    if (request.ok && limit.ok && compareQuantities(request.quantity, limit.quantity) > 0) {
      violations.push({
        path: `${path}/resources/requests/${name}`,
        message: `"${effective.requests[name]}" is more than its limit "${effective.limits[name]}"`,
      });
    }
  }
  return violations;
}

function checkDeadline(request: ChallengeRequest, policy: Policy): PolicyViolation[] {
  const asked = request.activeDeadlineSeconds;
  const max = policy.maxActiveDeadlineSeconds;
  return asked !== undefined && asked > max
    ? [
        {
          path: '/activeDeadlineSeconds',
          message: `${asked} is more than the allowed maximum of ${max} seconds`,
        },
      ]
    : [];
}

function checkLabels(request: ChallengeRequest, policy: Policy): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const entries = Object.entries(request.labels);
  if (entries.length > policy.labels.maxCount) {
    violations.push({
      path: '/labels',
      message: `has ${entries.length} labels; policy allows at most ${policy.labels.maxCount}`,
    });
  }
  for (const [key, value] of entries) {
    const problem = labelProblem(key, value, policy);
    if (problem) violations.push({ path: '/labels', message: problem });
  }
  return violations;
}

function labelProblem(key: string, value: string, policy: Policy): string | undefined {
  const keyProblem = labelKeyProblem(key);
  if (keyProblem) return `key ${keyProblem}`;
  if (policy.reservedLabelKeys.has(key)) {
    return `key "${key}" is set by podbus and cannot be overridden`;
  }
  const forbidden = policy.labels.forbiddenPrefixes.find((p) => keyHasDomainPrefix(key, p));
  if (forbidden !== undefined) {
    return `key "${key}" uses the reserved prefix "${forbidden.replace(/\/$/, '')}"`;
  }
  const valueProblem = labelValueProblem(value);
  return valueProblem ? `value of "${key}": ${valueProblem}` : undefined;
}
