import type { ErrorObject } from 'ajv/dist/2020.js';

import { closestKey } from '../shared/closest-key.js';
import { preview } from '../shared/preview.js';

/**
 * Turns ajv errors into sentences a sender can act on, naming the JSON path (a JSON Pointer in
 * the sender's own form, e.g. `/Containers/0/Name`) and what is wrong with it:
 *   /containers/0/image must be a string, not a number
 *   /containers/1 has unknown property "Name" (in the camelCase form the image goes in "image")
 */
export function describeSchemaErrors(errors: readonly ErrorObject[]): string[] {
  const sentences = errors.map(describeOne);
  return [...new Set(sentences)];
}

function describeOne(error: ErrorObject): string {
  const path = error.instancePath || 'the message';
  const params = error.params as Record<string, unknown>;
  const schema = (error.parentSchema ?? {}) as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${path} is missing "${String(params.missingProperty)}"`;
    case 'additionalProperties': {
      const property = String(params.additionalProperty);
      const known = Object.keys((schema.properties ?? {}) as object);
      return `${path} has unknown property "${property}"${unknownPropertyHint(property, known)}`;
    }
    case 'type':
      return `${path} must be ${typeWords(params.type)}, not ${jsonType(error.data)}`;
    case 'minItems':
      return Number(params.limit) === 1
        ? `${path} must not be empty`
        : `${path} must have at least ${String(params.limit)} items`;
    case 'minLength':
      return Number(params.limit) === 1
        ? `${path} must not be empty`
        : `${path} must be at least ${String(params.limit)} characters long`;
    case 'maxLength':
      return `${path} must be at most ${String(params.limit)} characters long (it has ${
        typeof error.data === 'string' ? error.data.length : '?'
      })`;
    case 'pattern': {
      const wanted = typeof schema.title === 'string' ? schema.title : `match ${params.pattern}`;
      return `${path} must be ${wanted} (got ${preview(error.data)})`;
    }
    case 'minimum':
    case 'maximum':
      return `${path} must be ${error.keyword === 'minimum' ? 'at least' : 'at most'} ${String(
        params.limit,
      )} (got ${preview(error.data)})`;
    default:
      return `${path} ${error.message ?? `fails ${error.keyword}`}`;
  }
}

/** Hints for the mistakes senders make when moving between the two forms, then typos. */
function unknownPropertyHint(property: string, known: readonly string[]): string {
  if (property === 'Name' && known.includes('image')) {
    return ' (in the camelCase form the image goes in "image"; "Name" is the seed form\'s field)';
  }
  if (known.length === 1 && known[0] === 'Name') {
    return ` (a seed-form container has only "Name", the image; to set "${property}" send the camelCase form)`;
  }
  const suggestion = closestKey(property, known);
  return suggestion ? ` (did you mean "${suggestion}"?)` : '';
}

function typeWords(type: unknown): string {
  const types = (Array.isArray(type) ? type : [type]).map(String);
  const words = types.filter((t) => t !== 'null').map((t) => ARTICLED[t] ?? t);
  const text = words.join(' or ');
  return types.includes('null') ? `${text} (or null)` : text;
}

const ARTICLED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
};

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return ARTICLED[typeof value] ?? typeof value;
}
