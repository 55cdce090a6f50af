/**
 * Decoding stage: request bodies as kube-apiserver reads them (3 MiB limit, JSON, YAML, and
 * protobuf for the kinds kubectl's typed clients send), with its 400/413/415 answers.
 */
import type { IncomingMessage } from 'node:http';

import { parse as parseYaml } from 'yaml';

import { isObject } from '../json.js';
import { decodeProtobuf, protobufDecodable } from '../protobuf.js';
import { badRequest, requestEntityTooLarge, unsupportedMediaType } from '../status.js';
import type { JsonObject } from '../store.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** Reads a request body up to 3 MiB (413 beyond, as kube-apiserver's limit). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        reject(requestEntityTooLarge(MAX_BODY_BYTES));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

/** Reads and decodes a JSON, YAML or (for the review/token kinds) protobuf body (400/413/415). */
export async function decodeBody(req: IncomingMessage, kind?: string): Promise<JsonObject> {
  const ct = (req.headers['content-type'] ?? 'application/json')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  const protobuf = kind !== undefined && protobufDecodable(kind);
  if (ct === PROTOBUF && protobuf) return decodeProtobuf(await readBody(req));
  if (ct !== 'application/json' && ct !== 'application/yaml')
    throw unsupportedMediaType(
      `application/json, application/yaml${protobuf ? `, ${PROTOBUF}` : ''}`,
    );
  const raw = await readBody(req);
  const text = raw.toString('utf8');
  let value: unknown;
  try {
    value = ct === 'application/yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw badRequest(
      `couldn't get version/kind; json parse error: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!isObject(value))
    throw badRequest(`couldn't get version/kind; json parse error: expected an object`);
  return value;
}

/** DeleteOptions from the body of a DELETE, if any. */
export async function decodeDeleteOptions(req: IncomingMessage): Promise<JsonObject> {
  const len = Number(req.headers['content-length'] ?? '0');
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (len === 0 && !chunked) return {};
  const raw = (await readBody(req)).toString('utf8').trim();
  if (raw === '') return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return isObject(v) ? v : {};
  } catch (e) {
    throw badRequest(
      `couldn't get version/kind; json parse error: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}
