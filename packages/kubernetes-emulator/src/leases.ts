/**
 * coordination.k8s.io/v1 Lease, as kube-apiserver 1.32 serves it (pkg/registry/coordination/lease
 * and pkg/apis/coordination/validation): the object client-go's leader election reads, creates
 * and renews. An update must carry the resourceVersion it read (no unconditional updates), so a
 * stale renewal is a 409 Conflict; a PUT to a missing lease creates it; `acquireTime` and
 * `renewTime` are MicroTimes (six fraction digits, else 400). The CoordinatedLeaderElection
 * fields `strategy` and `preferredHolder` are dropped, as with that alpha feature gate off.
 */
import { isObject } from './json.js';
import { MicroTimeError, parseMicroTime } from './micro-time.js';
import { ordered } from './pods.js';
import {
  AGE_COLUMN,
  humanAge,
  metadataOf,
  NAME_COLUMN,
  STANDARD_VERBS,
  type ResourceType,
} from './resource-type.js';
import { cannotDecode, unmarshalTypeError, type FieldError } from './status.js';
import type { JsonObject } from './store.js';
import { validateObjectMeta } from './validation.js';

const SPEC_ORDER = [
  'holderIdentity',
  'leaseDurationSeconds',
  'acquireTime',
  'renewTime',
  'leaseTransitions',
  'strategy',
  'preferredHolder',
];

const INT32_FIELDS = ['leaseDurationSeconds', 'leaseTransitions'];
const STRING_FIELDS = ['holderIdentity', 'strategy', 'preferredHolder'];
const MICRO_TIME_FIELDS = ['acquireTime', 'renewTime'];

function refuse(cause: string): never {
  throw cannotDecode('Lease', 'v1', cause);
}

/** What the JSON decoder does to a Lease spec: type checks, MicroTimes, nulls dropped. */
function decodeSpec(obj: JsonObject): JsonObject {
  if (obj.spec === undefined || obj.spec === null) return {};
  if (!isObject(obj.spec)) refuse(unmarshalTypeError(obj.spec, 'Lease.spec', 'v1.LeaseSpec'));
  const spec = obj.spec;
  for (const [k, v] of Object.entries(spec)) {
    if (v === null) {
      delete spec[k];
      continue;
    }
    const field = `LeaseSpec.spec.${k}`;
    if (INT32_FIELDS.includes(k) && !(Number.isInteger(v) && Math.abs(v as number) < 2 ** 31))
      refuse(unmarshalTypeError(v, field, 'int32'));
    if (STRING_FIELDS.includes(k) && typeof v !== 'string')
      refuse(unmarshalTypeError(v, field, 'string'));
    if (MICRO_TIME_FIELDS.includes(k)) {
      if (typeof v !== 'string') refuse(unmarshalTypeError(v, field, 'v1.MicroTime'));
      try {
        spec[k] = parseMicroTime(v);
      } catch (e) {
        if (e instanceof MicroTimeError) refuse(e.message);
        throw e;
      }
    }
  }
  return spec;
}

function validateLease(obj: JsonObject): FieldError[] {
  const errs = validateObjectMeta(metadataOf(obj), true, 'subdomain');
  const spec = (obj.spec ?? {}) as JsonObject;
  const duration = spec.leaseDurationSeconds;
  if (typeof duration === 'number' && duration <= 0)
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec.leaseDurationSeconds',
      value: duration,
      detail: 'must be greater than 0',
    });
  const transitions = spec.leaseTransitions;
  if (typeof transitions === 'number' && transitions < 0)
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec.leaseTransitions',
      value: transitions,
      detail: 'must be greater than or equal to 0',
    });
  return errs;
}

export const leaseType: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  kind: 'Lease',
  listKind: 'LeaseList',
  singular: 'lease',
  namespaced: true,
  verbs: STANDARD_VERBS,
  nameRule: 'subdomain',
  keepsStatus: true,
  requiresResourceVersionOnUpdate: true,
  createsOnUpdate: true,
  prepareForCreate: (obj) => {
    const spec = decodeSpec(obj);
    delete spec.strategy;
    delete spec.preferredHolder;
    obj.spec = ordered(spec, SPEC_ORDER);
  },
  prepareForUpdate: (obj, old) => {
    const spec = decodeSpec(obj);
    const oldSpec = (old.spec ?? {}) as JsonObject;
    if (oldSpec.strategy === undefined) delete spec.strategy;
    if (oldSpec.preferredHolder === undefined) delete spec.preferredHolder;
    obj.spec = ordered(spec, SPEC_ORDER);
  },
  validate: validateLease,
  table: {
    columns: [
      NAME_COLUMN,
      {
        name: 'Holder',
        type: 'string',
        description:
          'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
        priority: 0,
      },
      AGE_COLUMN,
    ],
    cells: (o, now) => [
      metadataOf(o).name,
      ((o.spec as JsonObject | undefined)?.holderIdentity as string | undefined) ?? '',
      humanAge(metadataOf(o).creationTimestamp, now),
    ],
  },
};
