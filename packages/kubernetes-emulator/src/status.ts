/**
 * metav1.Status failures as kube-apiserver renders them (k8s.io/apimachinery/pkg/api/errors):
 * the same code, reason, message wording and details, so clients can branch on them.
 */

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A failure the HTTP layer renders as a Status body (or plain text for an APF 429). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    /** Render `details: {}` even when empty (the 504 request timeout does). */
    readonly emptyDetails = false,
  ) {
    super(message);
  }

  /** The Status object, with empty details omitted as Go's omitempty does. */
  toStatus(): Record<string, unknown> {
    const status: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
    };
    if (this.reason !== '') status.reason = this.reason; // omitempty: an unknown reason is left out
    const details = compactDetails(this.details);
    if (details !== undefined) status.details = details;
    else if (this.emptyDetails) status.details = {};
    status.code = this.code;
    return status;
  }

  get retryAfterSeconds(): number | undefined {
    const r = this.details?.retryAfterSeconds;
    return r !== undefined && r > 0 ? r : undefined;
  }
}

function compactDetails(details: StatusDetails | undefined): StatusDetails | undefined {
  if (details === undefined) return undefined;
  const out: StatusDetails = {};
  if (details.name) out.name = details.name;
  if (details.group) out.group = details.group;
  if (details.kind) out.kind = details.kind;
  if (details.uid) out.uid = details.uid;
  if (details.causes && details.causes.length > 0) out.causes = details.causes;
  if (details.retryAfterSeconds !== undefined && details.retryAfterSeconds > 0)
    out.retryAfterSeconds = details.retryAfterSeconds;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Group-qualified resource as GroupResource.String() prints it: `pods`, `roles.rbac.authorization.k8s.io`. */
export function qualifiedResource(group: string, resource: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

/** Group-qualified kind: `Pod`, `Role.rbac.authorization.k8s.io`. */
export function qualifiedKind(group: string, kind: string): string {
  return group === '' ? kind : `${kind}.${group}`;
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function notFound(group: string, resource: string, name: string): ApiError {
  return new ApiError(
    404,
    'NotFound',
    `${qualifiedResource(group, resource)} "${name}" not found`,
    {
      name,
      group,
      kind: resource,
    },
  );
}

export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedResource(group, resource)} "${name}" already exists`,
    { name, group, kind: resource },
  );
}

export function conflict(group: string, resource: string, name: string, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`,
    { name, group, kind: resource },
  );
}

/**
 * 409 for a failed uid or resourceVersion precondition: the storage layer's error (etcd3
 * Preconditions.Check, a StorageError) inside a Conflict, as kube-apiserver answers it.
 */
export function preconditionFailed(
  group: string,
  resource: string,
  namespace: string,
  name: string,
  detail: string,
): ApiError {
  const key = `/registry/${resource}/${namespace === '' ? '' : `${namespace}/`}${name}`;
  return conflict(
    group,
    resource,
    name,
    `StorageError: invalid object, Code: 4, Key: ${key}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: ${detail}`,
  );
}

export function forbidden(group: string, resource: string, name: string, why: string): ApiError {
  let message: string;
  if (group === '' && resource === '') message = `forbidden: ${why}`;
  else if (name === '') message = `${qualifiedResource(group, resource)} is forbidden: ${why}`;
  else message = `${qualifiedResource(group, resource)} "${name}" is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, { name, group, kind: resource });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/**
 * 400 for a body the JSON decoder refuses, as the create/update handlers word it
 * (transformDecodeError): `<Kind> in version "<version>" cannot be handled as a <Kind>: <cause>`.
 */
export function cannotDecode(kind: string, version: string, cause: string): ApiError {
  return badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${cause}`);
}

/** encoding/json's error for a value of the wrong JSON type (an UnmarshalTypeError). */
export function unmarshalTypeError(got: unknown, field: string, goType: string): string {
  let value: string;
  if (Array.isArray(got)) value = 'array';
  else if (got === null) value = 'null';
  else if (typeof got === 'boolean') value = 'bool';
  else if (typeof got === 'number') value = `number ${String(got)}`;
  else value = typeof got;
  return `json: cannot unmarshal ${value} into Go struct field ${field} of type ${goType}`;
}

export function methodNotSupported(group: string, resource: string, action: string): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    `${action} is not supported on resources of kind "${qualifiedResource(group, resource)}"`,
    { group, kind: resource },
  );
}

export function unsupportedMediaType(accepted: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted}`,
  );
}

export function notAcceptable(): ApiError {
  return new ApiError(
    406,
    'NotAcceptable',
    'only the following media types are accepted: application/json, application/yaml',
  );
}

export function requestEntityTooLarge(limit: number): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

export function resourceExpired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function internalError(cause: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${cause}`, {
    causes: [{ reason: '', message: cause }],
  });
}

export function serverTimeout(group: string, resource: string, operation: string): ApiError {
  return new ApiError(
    500,
    'ServerTimeout',
    `The ${operation} operation against ${qualifiedResource(group, resource)} could not be completed at this time, please try again.`,
    { name: operation, group, kind: resource, retryAfterSeconds: 2 },
  );
}

export function serviceUnavailable(message: string, retryAfterSeconds?: number): ApiError {
  return new ApiError(
    503,
    'ServiceUnavailable',
    message,
    retryAfterSeconds ? { retryAfterSeconds } : undefined,
  );
}

export function gatewayTimeout(message: string, retryAfterSeconds = 0): ApiError {
  return new ApiError(
    504,
    'Timeout',
    `Timeout: ${message}`,
    retryAfterSeconds > 0 ? { retryAfterSeconds } : undefined,
    true,
  );
}

/** One field error of a 422 (field.Error in apimachinery). */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueNotFound'
    | 'FieldValueTypeInvalid';
  field: string;
  /** Omitted for Required/Forbidden/TooLong, as upstream. */
  value?: unknown;
  detail?: string;
}

const TYPE_TEXT: Record<FieldError['type'], string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueNotFound: 'Not found',
  FieldValueTypeInvalid: 'Invalid value',
};

/** field.Error.ErrorBody(): `Type[: value][: detail]`. */
export function fieldErrorBody(e: FieldError): string {
  let s = TYPE_TEXT[e.type];
  const omitValue =
    e.type === 'FieldValueRequired' ||
    e.type === 'FieldValueForbidden' ||
    e.type === 'FieldValueTooLong';
  if (!omitValue) {
    const v = e.value;
    if (v === undefined || v === null) s += ': null';
    else if (typeof v === 'string') s += `: ${JSON.stringify(v)}`;
    else if (typeof v === 'number' || typeof v === 'boolean') s += `: ${String(v)}`;
    else s += `: ${JSON.stringify(v)}`;
  }
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

/** 422 Invalid, `Kind "name" is invalid: <errs>` with causes, as errors.NewInvalid. */
export function invalid(group: string, kind: string, name: string, errors: FieldError[]): ApiError {
  const seen = new Set<string>();
  const messages: string[] = [];
  for (const e of errors) {
    const m = `${e.field}: ${fieldErrorBody(e)}`;
    if (!seen.has(m)) {
      seen.add(m);
      messages.push(m);
    }
  }
  const aggregate = messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
  return new ApiError(
    422,
    'Invalid',
    `${qualifiedKind(group, kind)} "${name}" is invalid: ${aggregate}`,
    {
      name,
      group,
      kind,
      causes: errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
    },
  );
}

/** The plain-text body of an APF rejection. */
export const TOO_MANY_REQUESTS_TEXT = 'Too many requests, please try again later.\n';
