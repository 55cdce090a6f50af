/**
 * Decoding of `application/vnd.kubernetes.protobuf` request bodies for the few types kubectl's
 * typed clients POST (`kubectl auth can-i`, `kubectl create token`, `kubectl auth whoami`).
 * The envelope is the 4-byte magic `k8s\0` followed by a runtime.Unknown message
 * (typeMeta=1 {apiVersion=1, kind=2}, raw=2); `raw` is the object in proto2 wire format.
 * Field numbers come from k8s.io/api/{authorization,authentication}/v1/generated.proto.
 * Responses stay JSON: these clients accept `*\/*`.
 */
import { badRequest } from './status.js';
import type { JsonObject } from './store.js';

type FieldType =
  | 'string'
  | 'int'
  | 'bool'
  | 'strings'
  | 'bytes'
  | Schema
  | { list: Schema }
  | { map: 'string' | 'bytes' | 'quantity' };
interface Schema {
  [field: number]: [name: string, type: FieldType];
}

const STRING_MAP = { map: 'string' } as const;
const OBJECT_META: Schema = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  11: ['labels', STRING_MAP],
  12: ['annotations', STRING_MAP],
  14: ['finalizers', 'strings'],
};
const POLICY_RULE: Schema = {
  1: ['verbs', 'strings'],
  2: ['apiGroups', 'strings'],
  3: ['resources', 'strings'],
  4: ['resourceNames', 'strings'],
  5: ['nonResourceURLs', 'strings'],
};
const SUBJECT: Schema = {
  1: ['kind', 'string'],
  2: ['apiGroup', 'string'],
  3: ['name', 'string'],
  4: ['namespace', 'string'],
};
const ROLE_REF: Schema = {
  1: ['apiGroup', 'string'],
  2: ['kind', 'string'],
  3: ['name', 'string'],
};
const RESOURCE_ATTRIBUTES: Schema = {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
};
const NON_RESOURCE_ATTRIBUTES: Schema = { 1: ['path', 'string'], 2: ['verb', 'string'] };
const SUBJECT_ACCESS_REVIEW_SPEC: Schema = {
  1: ['resourceAttributes', RESOURCE_ATTRIBUTES],
  2: ['nonResourceAttributes', NON_RESOURCE_ATTRIBUTES],
  3: ['user', 'string'],
  4: ['groups', 'strings'],
  6: ['uid', 'string'],
};

const SCHEMAS: Record<string, Schema> = {
  SelfSubjectAccessReview: {
    1: ['metadata', OBJECT_META],
    2: [
      'spec',
      {
        1: ['resourceAttributes', RESOURCE_ATTRIBUTES],
        2: ['nonResourceAttributes', NON_RESOURCE_ATTRIBUTES],
      },
    ],
  },
  SubjectAccessReview: { 1: ['metadata', OBJECT_META], 2: ['spec', SUBJECT_ACCESS_REVIEW_SPEC] },
  LocalSubjectAccessReview: {
    1: ['metadata', OBJECT_META],
    2: ['spec', SUBJECT_ACCESS_REVIEW_SPEC],
  },
  SelfSubjectRulesReview: {
    1: ['metadata', OBJECT_META],
    2: ['spec', { 1: ['namespace', 'string'] }],
  },
  TokenRequest: {
    1: ['metadata', OBJECT_META],
    2: [
      'spec',
      {
        1: ['audiences', 'strings'],
        3: [
          'boundObjectRef',
          {
            1: ['kind', 'string'],
            2: ['apiVersion', 'string'],
            3: ['name', 'string'],
            4: ['uid', 'string'],
          },
        ],
        4: ['expirationSeconds', 'int'],
      },
    ],
  },
  TokenReview: {
    1: ['metadata', OBJECT_META],
    2: ['spec', { 1: ['token', 'string'], 2: ['audiences', 'strings'] }],
  },
  SelfSubjectReview: { 1: ['metadata', OBJECT_META] },
  // What `kubectl create namespace|configmap|secret|serviceaccount|role|rolebinding|
  // clusterrole|clusterrolebinding|quota` send (k8s.io/api core/v1 and rbac/v1 generated.proto).
  Namespace: { 1: ['metadata', OBJECT_META], 2: ['spec', { 1: ['finalizers', 'strings'] }] },
  ConfigMap: {
    1: ['metadata', OBJECT_META],
    2: ['data', STRING_MAP],
    3: ['binaryData', { map: 'bytes' }],
    4: ['immutable', 'bool'],
  },
  Secret: {
    1: ['metadata', OBJECT_META],
    2: ['data', { map: 'bytes' }],
    3: ['type', 'string'],
    4: ['stringData', STRING_MAP],
    5: ['immutable', 'bool'],
  },
  ServiceAccount: {
    1: ['metadata', OBJECT_META],
    3: ['imagePullSecrets', { list: { 1: ['name', 'string'] } }],
    4: ['automountServiceAccountToken', 'bool'],
  },
  ResourceQuota: {
    1: ['metadata', OBJECT_META],
    2: ['spec', { 1: ['hard', { map: 'quantity' }], 2: ['scopes', 'strings'] }],
  },
  Role: { 1: ['metadata', OBJECT_META], 2: ['rules', { list: POLICY_RULE }] },
  ClusterRole: { 1: ['metadata', OBJECT_META], 2: ['rules', { list: POLICY_RULE }] },
  RoleBinding: {
    1: ['metadata', OBJECT_META],
    2: ['subjects', { list: SUBJECT }],
    3: ['roleRef', ROLE_REF],
  },
  ClusterRoleBinding: {
    1: ['metadata', OBJECT_META],
    2: ['subjects', { list: SUBJECT }],
    3: ['roleRef', ROLE_REF],
  },
};

/** Kinds whose protobuf bodies can be decoded. */
export function protobufDecodable(kind: string): boolean {
  return SCHEMAS[kind] !== undefined;
}

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly end = buf.length,
  ) {}
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.end) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function decodeMessage(buf: Buffer, schema: Schema): JsonObject {
  const r = new Reader(buf);
  const out: JsonObject = {};
  while (!r.done) {
    const tag = Number(r.varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    const spec = schema[field];
    if (!spec) {
      r.skip(wire);
      continue;
    }
    const [name, type] = spec;
    if (type === 'string') {
      // Go's JSON omits empty optional strings (omitempty); so does the decoded object.
      const v = r.bytes().toString('utf8');
      if (v !== '') out[name] = v;
    } else if (type === 'bytes') out[name] = r.bytes().toString('base64');
    else if (type === 'strings') ((out[name] ??= []) as string[]).push(r.bytes().toString('utf8'));
    else if (type === 'int') out[name] = Number(BigInt.asIntN(64, r.varint()));
    else if (type === 'bool') out[name] = r.varint() !== 0n;
    else if ('list' in type)
      ((out[name] ??= []) as JsonObject[]).push(decodeMessage(r.bytes(), type.list as Schema));
    else if ('map' in type) {
      // A map entry is a message {key = 1, value = 2}; a Quantity is {string = 1}.
      const kind = type.map as 'string' | 'bytes' | 'quantity';
      const valueType: FieldType = kind === 'quantity' ? { 1: ['string', 'string'] } : kind;
      const entry = decodeMessage(r.bytes(), { 1: ['key', 'string'], 2: ['value', valueType] });
      const value =
        kind === 'quantity' ? (entry.value as JsonObject | undefined)?.string : entry.value;
      ((out[name] ??= {}) as JsonObject)[String(entry.key ?? '')] =
        value ?? (kind === 'quantity' ? '0' : '');
    } else out[name] = decodeMessage(r.bytes(), type as Schema);
  }
  return out;
}

/** Decodes a protobuf-enveloped body into the JSON shape of the object. */
export function decodeProtobuf(body: Buffer): JsonObject {
  try {
    if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\u0000')
      throw new Error(
        'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
      );
    const unknown = decodeMessage(body.subarray(4), {
      1: ['typeMeta', { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] }],
    });
    const r = new Reader(body.subarray(4));
    let raw: Buffer | undefined;
    while (!r.done) {
      const tag = Number(r.varint());
      if (tag >>> 3 === 2 && (tag & 7) === 2) raw = r.bytes();
      else r.skip(tag & 7);
    }
    const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
    const kind = typeMeta.kind ?? '';
    const schema = SCHEMAS[kind];
    if (!schema) throw new Error(`no protobuf decoding for kind "${kind}"`);
    const obj = raw ? decodeMessage(raw, schema) : {};
    return { apiVersion: typeMeta.apiVersion, kind, ...obj };
  } catch (e) {
    throw badRequest(
      `couldn't decode protobuf body: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function lengthDelimited(field: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}

/**
 * A minimal OpenAPI v2 document in the protobuf form kubectl downloads from /openapi/v2
 * (gnostic openapi_v2.Document: swagger=1, info=2 {title=1, version=2}, paths=8). It has no
 * definitions, so kubectl's client-side validation (used e.g. for `kind: List` files) finds
 * no schema for a kind and skips it; the server validates.
 */
export function openApiV2Protobuf(title: string, version: string): Buffer {
  const info = Buffer.concat([
    lengthDelimited(1, Buffer.from(title)),
    lengthDelimited(2, Buffer.from(version)),
  ]);
  return Buffer.concat([
    lengthDelimited(1, Buffer.from('2.0')),
    lengthDelimited(2, info),
    lengthDelimited(8, Buffer.alloc(0)),
  ]);
}
