import { describe, expect, it } from '@jest/globals';

import {
  alreadyExists,
  fieldErrorBody,
  forbidden,
  gatewayTimeout,
  invalid,
  notFound,
} from '../../src/status.js';
import {
  isDns1123Label,
  isDns1123Subdomain,
  isLabelKey,
  isLabelValue,
  validateObjectMeta,
} from '../../src/validation.js';

describe('Status bodies', () => {
  it('renders NotFound/AlreadyExists with group-qualified resources and omits empty details', () => {
    expect(notFound('', 'pods', 'p').toStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "p" not found',
      reason: 'NotFound',
      details: { name: 'p', kind: 'pods' },
      code: 404,
    });
    expect(alreadyExists('rbac.authorization.k8s.io', 'roles', 'r').message).toBe(
      'roles.rbac.authorization.k8s.io "r" already exists',
    );
  });

  it('formats Forbidden with and without a name', () => {
    expect(forbidden('', 'pods', '', 'why').message).toBe('pods is forbidden: why');
    expect(forbidden('', 'pods', 'p', 'why').message).toBe('pods "p" is forbidden: why');
    expect(forbidden('', '', '', 'why').message).toBe('forbidden: why');
  });

  it('keeps details {} on a 504 and adds Retry-After only when positive', () => {
    expect(gatewayTimeout('x').toStatus().details).toEqual({});
    expect(gatewayTimeout('x').retryAfterSeconds).toBeUndefined();
    expect(gatewayTimeout('x', 1).retryAfterSeconds).toBe(1);
  });

  it('aggregates 422 messages like field.ErrorList: one error bare, several in brackets', () => {
    const one = invalid('', 'Pod', 'p', [{ type: 'FieldValueRequired', field: 'spec.containers' }]);
    expect(one.message).toBe('Pod "p" is invalid: spec.containers: Required value');
    const two = invalid('', 'Pod', 'p', [
      { type: 'FieldValueRequired', field: 'a' },
      { type: 'FieldValueInvalid', field: 'b', value: 0, detail: 'must be positive' },
    ]);
    expect(two.message).toBe(
      'Pod "p" is invalid: [a: Required value, b: Invalid value: 0: must be positive]',
    );
    expect(two.details?.causes).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'a' },
      { reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be positive', field: 'b' },
    ]);
  });

  it('quotes string values and lists supported values', () => {
    expect(
      fieldErrorBody({
        type: 'FieldValueNotSupported',
        field: 'spec.restartPolicy',
        value: 'Foo',
        detail: 'supported values: "Always", "OnFailure", "Never"',
      }),
    ).toBe('Unsupported value: "Foo": supported values: "Always", "OnFailure", "Never"');
    expect(fieldErrorBody({ type: 'FieldValueDuplicate', field: 'x', value: 'c' })).toBe(
      'Duplicate value: "c"',
    );
  });
});

describe('name and label validation', () => {
  it('DNS-1123 subdomains and labels', () => {
    expect(isDns1123Subdomain('a.b-c')).toEqual([]);
    expect(isDns1123Subdomain('Bad_Name')[0]).toMatch(/^a lowercase RFC 1123 subdomain/);
    expect(isDns1123Subdomain('a'.repeat(254))).toContain('must be no more than 253 characters');
    expect(isDns1123Label('a.b')).toEqual(['must not contain dots']);
    expect(isDns1123Label('a'.repeat(64))[0]).toBe('must be no more than 63 characters');
  });

  it('label keys with prefix and values', () => {
    expect(isLabelKey('example.com/app')).toEqual([]);
    expect(isLabelKey('/app')).toEqual(['prefix part must be non-empty']);
    expect(isLabelKey('a/b/c')[0]).toMatch(/^a valid label key must consist/);
    expect(isLabelValue('')).toEqual([]);
    expect(isLabelValue('-x')[0]).toMatch(/^a valid label must be an empty string/);
  });

  it('validates generateName as a prefix (trailing dash allowed)', () => {
    expect(
      validateObjectMeta(
        { name: 'p-abcde', generateName: 'p-', namespace: 'n' },
        true,
        'subdomain',
      ),
    ).toEqual([]);
  });
});
