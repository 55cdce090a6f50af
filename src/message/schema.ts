import { readFileSync } from 'node:fs';

import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';

import type { MessageForm } from './challenge-request.js';

/**
 * The published JSON Schema (schema/challenge-message.schema.json) is the one source of truth
 * for the message shape: senders validate against the file, podbus validates with the same file.
 *
 * The file sits two directories above this module both in the sources (src/message/*.ts, run by
 * jest) and in the build (dist/message/*.js), so one relative URL finds it in both; the package
 * ships `schema/` next to `dist/`.
 */
export const SCHEMA_URL = new URL('../../schema/challenge-message.schema.json', import.meta.url);

export type JsonSchemaObject = Record<string, unknown>;

export const challengeMessageSchema: JsonSchemaObject = JSON.parse(
  readFileSync(SCHEMA_URL, 'utf8'),
) as JsonSchemaObject;

const SCHEMA_ID = challengeMessageSchema.$id as string;

// Compiled once per process. `verbose` keeps each failing sub-schema on the error so the
// description can use its `title` ("a Kubernetes quantity such as ..."); `allErrors` reports
// every problem of a message at once instead of one per delivery. `strict` catches mistakes in
// the schema file itself; union types (["string", "null"]) are plain JSON Schema, so allowed.
const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
ajv.addSchema(challengeMessageSchema);

function compiled(pointer: string): ValidateFunction {
  const validate = ajv.getSchema(`${SCHEMA_ID}${pointer}`);
  if (!validate) throw new Error(`challenge message schema has no ${pointer}`);
  return validate;
}

/** The whole schema (`oneOf` both forms): what a sender validates against. */
export const validateAnyForm = compiled('');

/**
 * Per-form validators, from the same file's `$defs`. podbus first decides which form a message
 * uses, then validates against that form only, so errors speak about that form instead of the
 * unhelpful "must match exactly one schema in oneOf".
 */
const byForm: Record<MessageForm, ValidateFunction> = {
  seed: compiled('#/$defs/seedMessage'),
  camelCase: compiled('#/$defs/camelCaseMessage'),
};

export function validateForm(form: MessageForm, value: unknown): readonly ErrorObject[] {
  const validate = byForm[form];
  return validate(value) ? [] : (validate.errors ?? []);
}
