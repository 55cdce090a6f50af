import {
  Observable,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

/**
 * client-node per-call options that end the request when `signal` aborts: client-node has no
 * per-call timeout of its own, so every podbus call passes one (an attempt's timeout in
 * ClusterClient, an admin call's in onboarding). Per-call options take *Observable*
 * middleware (a Promise-returning `pre` fails with "toPromise is not a function"), and the merge
 * strategy must be 'append': the default 'replace' would drop the built-in User-Agent
 * middleware (configuration.js `mergeMiddleware`; specs/kube-api.md §1).
 */
export function abortableCall(signal: AbortSignal): ConfigurationOptions {
  return {
    middlewareMergeStrategy: 'append',
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
      },
    ],
  };
}
