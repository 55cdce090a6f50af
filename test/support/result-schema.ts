import { readFileSync } from 'node:fs';

import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * The published result schema (schema/challenge-result.schema.json), compiled strictly with its
 * formats, as a reader of the results queue would: tests hold every result podbus builds or
 * sends to it.
 */
const schema = JSON.parse(
  readFileSync(new URL('../../schema/challenge-result.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

// ajv-formats is CommonJS: its function is the default export's default under ESM interop.
const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
const validate = ajv.compile(schema);

/** The schema's complaints about `body` ([] when it conforms). */
export function resultSchemaErrors(body: unknown): string[] {
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
