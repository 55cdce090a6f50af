import { describe, expect, it } from '@jest/globals';

import { jsonPatch, mergePatch, strategicMerge } from '../../src/patch.js';
import { decodeProtobuf, openApiV2Protobuf } from '../../src/protobuf.js';

describe('patches', () => {
  it('merge patch (RFC 7386): null deletes, objects merge, arrays replace', () => {
    expect(
      mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { a: null, b: { c: 9 }, l: [3] }),
    ).toEqual({
      b: { c: 9, d: 3 },
      l: [3],
    });
  });

  it('JSON patch (RFC 6902) add/replace/remove/test', () => {
    const doc = { metadata: { labels: { a: '1' } }, list: [1, 2] };
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/metadata/labels/b', value: '2' },
        { op: 'replace', path: '/metadata/labels/a', value: 'x' },
        { op: 'remove', path: '/list/0' },
        { op: 'add', path: '/list/-', value: 3 },
        { op: 'test', path: '/list', value: [2, 3] },
      ]),
    ).toEqual({ metadata: { labels: { a: 'x', b: '2' } }, list: [2, 3] });
    expect(doc.metadata.labels).toEqual({ a: '1' });
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/list', value: [] }])).toThrow(/test failed/);
  });

  it('strategic merge: containers merge by name, $patch delete, $setElementOrder ignored, set lists', () => {
    const target = {
      spec: {
        containers: [
          { name: 'a', image: 'x' },
          { name: 'b', image: 'y' },
        ],
      },
      metadata: { finalizers: ['f1'] },
    };
    const patch = {
      spec: {
        '$setElementOrder/containers': [{ name: 'a' }],
        containers: [
          { name: 'a', image: 'z' },
          { name: 'b', $patch: 'delete' },
          { name: 'c', image: 'w' },
        ],
      },
      metadata: { finalizers: ['f2'] },
    };
    expect(strategicMerge(target, patch)).toEqual({
      spec: {
        containers: [
          { name: 'a', image: 'z' },
          { name: 'c', image: 'w' },
        ],
      },
      metadata: { finalizers: ['f1', 'f2'] },
    });
  });

  it('strategic merge replaces lists without a merge key (RBAC rules)', () => {
    expect(
      strategicMerge({ rules: [{ verbs: ['get'] }] }, { rules: [{ verbs: ['list'] }] }),
    ).toEqual({
      rules: [{ verbs: ['list'] }],
    });
  });
});

function field(n: number, payload: Buffer | string): Buffer {
  const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from([(n << 3) | 2, b.length]), b]);
}

describe('protobuf request bodies', () => {
  it('decodes a SelfSubjectAccessReview envelope as kubectl sends it', () => {
    const ra = Buffer.concat([field(1, 'ns1'), field(2, 'create'), field(5, 'pods')]);
    const spec = field(1, ra);
    const raw = field(2, spec);
    const unknown = Buffer.concat([
      field(
        1,
        Buffer.concat([field(1, 'authorization.k8s.io/v1'), field(2, 'SelfSubjectAccessReview')]),
      ),
      field(2, raw),
    ]);
    const body = Buffer.concat([Buffer.from('k8s\u0000', 'latin1'), unknown]);
    expect(decodeProtobuf(body)).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace: 'ns1', verb: 'create', resource: 'pods' } },
    });
  });

  it('decodes TokenRequest expirationSeconds (varint field 4)', () => {
    const spec = Buffer.concat([field(1, 'aud'), Buffer.from([(4 << 3) | 0, 0x90, 0x1c])]); // 3600
    const unknown = Buffer.concat([
      field(1, Buffer.concat([field(1, 'authentication.k8s.io/v1'), field(2, 'TokenRequest')])),
      field(2, field(2, spec)),
    ]);
    const out = decodeProtobuf(Buffer.concat([Buffer.from('k8s\u0000', 'latin1'), unknown]));
    expect(out.spec).toEqual({ audiences: ['aud'], expirationSeconds: 3600 });
  });

  it('rejects bodies without the k8s magic with 400', () => {
    expect(() => decodeProtobuf(Buffer.from('{}'))).toThrow(/couldn't decode protobuf body/);
  });

  it('encodes the minimal OpenAPI v2 document', () => {
    const doc = openApiV2Protobuf('Kubernetes', 'v1');
    expect(doc.subarray(0, 5).toString('latin1')).toBe('\n\u00032.0');
  });
});
