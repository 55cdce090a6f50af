/**
 * Respond stage: every answer of the API leaves through a Responder, which writes kube-apiserver's
 * headers (Audit-Id, APF uids, Cache-Control), Status bodies, the APF 429, admission warnings
 * (`Warning: 299 - "..."`), and applies the faults that act on answers: black-holed requests are
 * held, and a write chosen for an ambiguous-write fault loses its successful answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { SeededRandom } from '../random.js';
import type { ApiError } from '../status.js';
import { gatewayTimeout, serverTimeout, TOO_MANY_REQUESTS_TEXT } from '../status.js';
import type { FaultAmbiguousWrite } from '../types.js';
import type { RequestContext } from './context.js';
import type { RequestInfo } from './request-info.js';

export class Responder {
  /** Requests of a black-holed cluster: never answered, destroyed at shutdown. */
  private readonly held = new Set<ServerResponse>();
  /** Writes chosen for an ambiguous-write fault: their successful answer is lost or late. */
  private readonly ambiguous = new WeakMap<
    ServerResponse,
    { spec: FaultAmbiguousWrite; info: RequestInfo }
  >();
  private readonly lateAnswers = new Set<NodeJS.Timeout>();
  /** Admission warnings of a request, sent as `Warning` headers with its answer. */
  private readonly warnings = new WeakMap<ServerResponse, string[]>();
  private readonly flowSchemaUid: string;
  private readonly priorityLevelUid: string;

  constructor(random: SeededRandom) {
    this.flowSchemaUid = random.uuid();
    this.priorityLevelUid = random.uuid();
  }

  /** Destroys held requests and drops late answers (emulator shutdown). */
  shutdown(): void {
    for (const r of this.held) r.destroy();
    this.held.clear();
    for (const t of this.lateAnswers) clearTimeout(t);
    this.lateAnswers.clear();
  }

  /** A black hole: the request is never answered. */
  hold(res: ServerResponse): void {
    this.held.add(res);
    res.on('close', () => this.held.delete(res));
  }

  /** The successful answer to this write will be lost as `spec` says. */
  loseNextAnswer(res: ServerResponse, spec: FaultAmbiguousWrite, info: RequestInfo): void {
    this.ambiguous.set(res, { spec, info });
  }

  /** APF rejection: plain text, not a Status. */
  throttled(res: ServerResponse, auditId: string, retryAfterSeconds: number): void {
    res.writeHead(429, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Retry-After': String(retryAfterSeconds),
      'Audit-Id': auditId,
      'X-Kubernetes-Pf-Flowschema-Uid': this.flowSchemaUid,
      'X-Kubernetes-Pf-Prioritylevel-Uid': this.priorityLevelUid,
      'Content-Length': Buffer.byteLength(TOO_MANY_REQUESTS_TEXT),
    });
    res.end(TOO_MANY_REQUESTS_TEXT);
  }

  headers(auditId: string, contentType = 'application/json'): Record<string, string> {
    return {
      'Audit-Id': auditId,
      'Cache-Control': 'no-cache, private',
      'Content-Type': contentType,
      'X-Kubernetes-Pf-Flowschema-Uid': this.flowSchemaUid,
      'X-Kubernetes-Pf-Prioritylevel-Uid': this.priorityLevelUid,
    };
  }

  send(
    res: ServerResponse,
    auditId: string,
    code: number,
    body: string,
    contentType?: string,
  ): void {
    const ambiguous = code < 300 ? this.ambiguous.get(res) : undefined;
    if (ambiguous !== undefined) {
      this.ambiguous.delete(res);
      return this.loseAnswer(res, auditId, ambiguous.spec, ambiguous.info, () =>
        this.send(res, auditId, code, body, contentType),
      );
    }
    const h: Record<string, string | string[]> = this.headers(auditId, contentType);
    h['Content-Length'] = String(Buffer.byteLength(body));
    const warnings = this.warnings.get(res);
    if (warnings !== undefined && warnings.length > 0) h.Warning = warnings.map(warningHeader);
    res.writeHead(code, h);
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  /** Adds admission warnings to the request's answer (deduplicated, as the apiserver does). */
  warn(ctx: RequestContext, warnings: readonly string[]): void {
    if (warnings.length === 0) return;
    const list = this.warnings.get(ctx.res) ?? [];
    for (const w of warnings) if (!list.includes(w)) list.push(w);
    this.warnings.set(ctx.res, list);
  }

  /**
   * The write is committed; the client does not learn it: the connection is reset, the answer
   * comes after `delayMs` (past a client's timeout), or a 500 ServerTimeout / 504 Timeout
   * replaces it, as when etcd or the request timeout answers before the commit is reported.
   */
  private loseAnswer(
    res: ServerResponse,
    auditId: string,
    spec: FaultAmbiguousWrite,
    info: RequestInfo,
    answer: () => void,
  ): void {
    switch (spec.outcome) {
      case 'reset':
        return resetSocket(res.req);
      case 'delay': {
        const timer = setTimeout(() => {
          this.lateAnswers.delete(timer);
          if (!res.destroyed && !res.writableEnded) answer();
        }, spec.delayMs ?? 0);
        this.lateAnswers.add(timer);
        return;
      }
      case 500:
        return this.sendError(
          res,
          auditId,
          serverTimeout(info.group, info.resource, operationOf(info.verb)),
        );
      case 504:
        return this.sendError(res, auditId, requestTimeout());
    }
  }

  sendError(res: ServerResponse, auditId: string, e: ApiError): void {
    const body = JSON.stringify(e.toStatus());
    const h = this.headers(auditId);
    h['Content-Length'] = String(Buffer.byteLength(body));
    const ra = e.retryAfterSeconds;
    if (ra !== undefined) h['Retry-After'] = String(ra);
    res.writeHead(e.code, h);
    res.end(body);
  }
}

/**
 * A `Warning` header value as the apiserver writes it (k8s.io/apimachinery/pkg/util/net,
 * NewWarningHeader): code 299, agent `-`, the text quoted with `\\` and `"` escaped.
 */
function warningHeader(text: string): string {
  return `299 - "${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The operation a storage timeout names (`The <op> operation against <resource> ...`). */
function operationOf(verb: string): string {
  if (verb === 'patch') return 'update';
  if (verb === 'deletecollection') return 'delete';
  return verb;
}

/** 504 of the request timeout filter. */
export function requestTimeout(): ApiError {
  return gatewayTimeout(
    'request did not complete within requested timeout - context deadline exceeded',
  );
}

export function resetSocket(req: IncomingMessage): void {
  const socket = req.socket as unknown as {
    _parent?: { resetAndDestroy?: () => void };
    resetAndDestroy?: () => void;
    destroy: () => void;
  };
  try {
    if (socket._parent?.resetAndDestroy) socket._parent.resetAndDestroy();
    else if (socket.resetAndDestroy) socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}
