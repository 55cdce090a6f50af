import type { ResourceName, ResourceRequest } from '../message/challenge-request.js';
import { compareQuantities, parseQuantity } from './quantity.js';

export const RESOURCE_NAMES: readonly ResourceName[] = ['cpu', 'memory'];

export type CpuMemory = Readonly<Record<ResourceName, string>>;

export interface ResourceDefaults {
  readonly requests: CpuMemory;
  readonly limits: CpuMemory;
}

export interface EffectiveResources {
  readonly requests: CpuMemory;
  readonly limits: CpuMemory;
}

/**
 * The requests and limits a container gets: what the message set, the operator's defaults for
 * the rest, adjusted so a partial request stays valid for Kubernetes (request <= limit):
 * - limit   = the message's limit, else the larger of the default limit and the message's request
 *             (asking for 2 CPUs without a limit should not fail on a default limit of 1);
 * - request = the message's request, else the smaller of the default request and that limit.
 * Policy bounds (`policy.resources.max`) then apply to every value the message set.
 */
export function effectiveResources(
  requested: ResourceRequest | undefined,
  defaults: ResourceDefaults,
): EffectiveResources {
  const requests: Partial<Record<ResourceName, string>> = {};
  const limits: Partial<Record<ResourceName, string>> = {};
  for (const name of RESOURCE_NAMES) {
    const askedRequest = requested?.requests?.[name];
    const askedLimit = requested?.limits?.[name];
    const limit = askedLimit ?? larger(defaults.limits[name], askedRequest);
    limits[name] = limit;
    requests[name] = askedRequest ?? smaller(defaults.requests[name], limit);
  }
  return { requests: requests as CpuMemory, limits: limits as CpuMemory };
}

function larger(base: string, other: string | undefined): string {
  return other !== undefined && compare(other, base) > 0 ? other : base;
}

function smaller(base: string, other: string): string {
  return compare(other, base) < 0 ? other : base;
}

/** Unparsable text compares as equal: it is reported by checkPolicy, never silently used. */
function compare(a: string, b: string): number {
  const left = parseQuantity(a);
  const right = parseQuantity(b);
  return left.ok && right.ok ? compareQuantities(left.quantity, right.quantity) : 0;
}
