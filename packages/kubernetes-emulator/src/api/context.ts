/** What every stage after authentication knows about a request. */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { UserInfo } from '../resource-type.js';
import type { RequestInfo } from './request-info.js';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  info: RequestInfo;
  query: URLSearchParams;
  /** The effective user (after impersonation). */
  user: UserInfo;
  auditId: string;
}
