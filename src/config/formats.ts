import convict from 'convict';
import { parse as parseYaml } from 'yaml';

import { parseQuantity, QUANTITY_EXAMPLES } from '../policy/quantity.js';
import { connectionStringProblem } from './connection-string.js';
import type { FormatName, LeafSpec } from './schema-tree.js';

/**
 * podbus's convict formats. Each validator throws a one-line message that never contains the
 * value (the loader adds the value when the option is not sensitive, and where it came from).
 * Coercers turn environment-variable and override strings into typed values, strictly: "8x" is
 * not 8. A string they cannot convert is returned as is and then fails validation.
 */
type Validate = (value: unknown, schema: LeafSpec) => void;
type Coerce = (value: string) => unknown;

const formats: Record<FormatName, { validate: Validate; coerce?: Coerce }> = {
  'podbus-int': { validate: validateInt, coerce: coerceInt },
  'podbus-seconds-or-never': {
    validate: (value, schema) => {
      if (value === 'never') return;
      try {
        validateInt(value, schema);
      } catch (error) {
        throw new Error(`${(error as Error).message}, or never`, { cause: error });
      }
    },
    coerce: (value) => (/^\s*never\s*$/i.test(value) ? 'never' : coerceInt(value)),
  },
  'podbus-bool': {
    validate: (value) => assert(typeof value === 'boolean', 'must be true or false'),
    coerce: coerceBool,
  },
  'podbus-string': {
    validate: (value, schema) => {
      assert(typeof value === 'string', 'must be a string');
      assert(!schema.nonEmpty || value !== '', 'must not be empty');
    },
  },
  'podbus-enum': {
    // An enum whose default is '' may stay unset; a part says when it must be set.
    validate: (value, schema) =>
      assert(
        typeof value === 'string' &&
          ((schema.values ?? []).includes(value) || (value === '' && schema.default === '')),
        `must be one of: ${(schema.values ?? []).join(', ')}`,
      ),
  },
  'podbus-string-list': {
    validate: (value) =>
      assert(
        Array.isArray(value) && value.every((v) => typeof v === 'string'),
        'must be a list of strings (in an environment variable: comma-separated, or a JSON list)',
      ),
    coerce: coerceList,
  },
  'podbus-string-map': {
    validate: (value) =>
      assert(
        (value instanceof Map || isPlainObject(value)) &&
          [...(value instanceof Map ? value.values() : Object.values(value))].every(
            (v) => typeof v === 'string',
          ),
        'must be a map of names to string values (in an environment variable: JSON or name=value,name=value)',
      ),
    coerce: coerceMap,
  },
  'podbus-quantity': {
    validate: (value) =>
      assert(
        (typeof value === 'string' || typeof value === 'number') && parseQuantity(value).ok,
        `must be a Kubernetes quantity such as ${QUANTITY_EXAMPLES}`,
      ),
  },
  'podbus-connection-string': {
    validate: (value) => {
      assert(typeof value === 'string', 'must be a string');
      // Unset is not a format problem; the serviceBus part says what to set (service-bus-part.ts).
      if ((value as string).trim() === '') return;
      const problem = connectionStringProblem(value as string);
      assert(problem === undefined, problem ?? '');
    },
  },
  'podbus-clusters': {
    validate: (value) =>
      assert(
        Array.isArray(value) && Object.keys(value).every((k) => /^\d+$/.test(k)),
        'must be a list of cluster entries (in an environment variable: a JSON list)',
      ),
    coerce: coerceClusters,
  },
};

let registered = false;

/** Adds the formats to convict (a process-wide registry) once; compile.ts calls it. */
export function registerFormats(): void {
  if (registered) return;
  for (const [name, { validate, coerce }] of Object.entries(formats)) {
    convict.addFormat({
      name,
      validate: validate as (value: unknown, schema: convict.SchemaObj) => void,
      ...(coerce && { coerce }),
    });
  }
  registered = true;
}

function assert(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function validateInt(value: unknown, schema: LeafSpec): void {
  const { min, max } = schema;
  const range =
    max !== undefined
      ? ` from ${min ?? 0} to ${max}`
      : min !== undefined
        ? ` of at least ${min}`
        : '';
  const ok =
    Number.isInteger(value) &&
    (min === undefined || (value as number) >= min) &&
    (max === undefined || (value as number) <= max);
  assert(ok, `must be a whole number${range}`);
}

function coerceInt(value: string): unknown {
  return /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : value;
}

function coerceBool(value: string): unknown {
  if (/^\s*(true|yes|on|1)\s*$/i.test(value)) return true;
  if (/^\s*(false|no|off|0)\s*$/i.test(value)) return false;
  return value;
}

function coerceList(value: string): unknown {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) return parseJson(trimmed) ?? value;
  return trimmed
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A Map, not an object: see toConvict in compile.ts (convict splits object keys on "."). */
function coerceMap(value: string): unknown {
  const trimmed = value.trim();
  if (trimmed === '') return new Map();
  if (trimmed.startsWith('{')) {
    const parsed = parseJson(trimmed);
    return isPlainObject(parsed) ? new Map(Object.entries(parsed)) : value;
  }
  const pairs = trimmed.split(',').map((pair) => pair.split('='));
  if (pairs.some((pair) => pair.length !== 2 || (pair[0] ?? '').trim() === '')) return value;
  return new Map(pairs.map(([k = '', v = '']) => [k.trim(), v.trim()]));
}

/** JSON (or YAML flow) list of entries, e.g. from PODBUS_CLUSTERS. */
function coerceClusters(value: string): unknown {
  if (value.trim() === '') return [];
  try {
    const parsed: unknown = parseYaml(value);
    return Array.isArray(parsed) ? parsed : value;
  } catch {
    return value;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
