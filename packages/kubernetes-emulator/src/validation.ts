/**
 * Name and metadata validation with upstream's rules and wording
 * (k8s.io/apimachinery/pkg/util/validation, pkg/api/validate/content, api/validation/objectmeta.go).
 */
import type { FieldError } from './status.js';

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const LABEL_KEY_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_KEY_RE = new RegExp(`^${LABEL_KEY_FMT}$`);
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_KEY_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join('or ')}regex used for validation is '${fmt}')`;
}

function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

export function isDns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!DNS1123_LABEL_RE.test(value)) {
    if (DNS1123_SUBDOMAIN_RE.test(value)) errs.push('must not contain dots');
    else
      errs.push(
        regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          DNS1123_LABEL_FMT,
          'my-name',
          '123-abc',
        ),
      );
  }
  return errs;
}

export function isDns1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(value))
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        'example.com',
      ),
    );
  return errs;
}

/** Fast path for the hot create path: true when `value` is a valid DNS-1123 subdomain. */
export function isValidDns1123Subdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN_RE.test(value);
}

export function isLabelKey(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0] ?? '';
  else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDns1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      `a valid label key ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!LABEL_KEY_RE.test(name))
    errs.push(
      `name part ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}`,
    );
  return errs;
}

export function isLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(value))
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE_FMT,
        'MyValue',
        'my_value',
        '12345',
      ),
    );
  return errs;
}

/** Validates a label map; errors use the map's path as field (`metadata.labels`), as upstream. */
export function validateLabels(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const m of isLabelKey(k))
      errs.push({ type: 'FieldValueInvalid', field, value: k, detail: m });
    const value = typeof v === 'string' ? v : String(v);
    for (const m of isLabelValue(value))
      errs.push({ type: 'FieldValueInvalid', field, value, detail: m });
  }
  return errs;
}

/** Annotation keys are qualified names; total size at most 256 KiB. */
export function validateAnnotations(annotations: unknown, field: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    for (const m of isLabelKey(k.toLowerCase()))
      errs.push({ type: 'FieldValueInvalid', field, value: k, detail: m });
    total += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (total > 262144)
    errs.push({ type: 'FieldValueTooLong', field, detail: 'must have at most 262144 bytes' });
  return errs;
}

export type NameRule = 'subdomain' | 'label' | 'path-segment';

function nameErrors(rule: NameRule, value: string, prefix: boolean): string[] {
  // A generateName prefix may end in '-' or '.', so upstream validates it with a character appended.
  const v = prefix ? maskTrailingDash(value) : value;
  if (rule === 'label') return isDns1123Label(v);
  if (rule === 'subdomain') return isDns1123Subdomain(v);
  const errs: string[] = [];
  if (v === '.' || v === '..') errs.push(`may not be '${v}'`);
  for (const bad of ['/', '%']) if (v.includes(bad)) errs.push(`may not contain '${bad}'`);
  return errs;
}

function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? name.slice(0, -1) + 'a' : name;
}

/**
 * ValidateObjectMeta for create: name (or generateName), namespace presence, labels, annotations.
 * `name` is the name after generateName was expanded.
 */
export function validateObjectMeta(
  meta: Record<string, unknown>,
  namespaced: boolean,
  rule: NameRule,
): FieldError[] {
  const errs: FieldError[] = [];
  const name = typeof meta.name === 'string' ? meta.name : '';
  const generateName = typeof meta.generateName === 'string' ? meta.generateName : '';
  if (generateName !== '') {
    for (const m of nameErrors(rule, generateName, true))
      errs.push({
        type: 'FieldValueInvalid',
        field: 'metadata.generateName',
        value: generateName,
        detail: m,
      });
  }
  if (name === '') {
    errs.push({
      type: 'FieldValueRequired',
      field: 'metadata.name',
      detail: 'name or generateName is required',
    });
  } else {
    for (const m of nameErrors(rule, name, false))
      errs.push({ type: 'FieldValueInvalid', field: 'metadata.name', value: name, detail: m });
  }
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  if (namespaced && namespace === '')
    errs.push({ type: 'FieldValueRequired', field: 'metadata.namespace' });
  if (!namespaced && namespace !== '')
    errs.push({
      type: 'FieldValueForbidden',
      field: 'metadata.namespace',
      detail: 'not allowed on this type',
    });
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  return errs;
}
