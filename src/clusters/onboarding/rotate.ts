import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

import { abortableCall } from '../call-options.js';
import { classifyError } from '../classify.js';
import type { ClusterEntry } from '../cluster-entry.js';
import { loadCa } from '../connection.js';
import type { AdminContext } from './admin-context.js';
import { OnboardingError } from './errors.js';
import { requestToken, type IssuedToken } from './token.js';

/**
 * Rotation of expiring service-account tokens (`podbus clusters rotate-token`): a new
 * TokenRequest token before the current one expires, written where the worker reads it (the
 * entry's tokenFile, or the Secret it is mounted from), so the worker picks it up on its own.
 * The request is made either with an admin context, or with the entry's current token: a
 * service account may renew its own token when a Role lets it create `serviceaccounts/token`
 * for its own name (deploy/target-cluster/components/token-self-renewal).
 */
export type RotationAccess =
  | { readonly kind: 'admin'; readonly admin: AdminContext }
  | { readonly kind: 'self'; readonly token: string };

export async function renewToken(
  entry: ClusterEntry,
  access: RotationAccess,
  serviceAccount: string,
  ttlSeconds: number,
  requestTimeoutMs: number,
): Promise<IssuedToken> {
  if (access.kind === 'admin') {
    return requestToken(
      access.admin,
      entry.namespace,
      serviceAccount,
      ttlSeconds,
      requestTimeoutMs,
    );
  }
  const core = entryCoreApi(entry, access.token);
  try {
    const review = await core.createNamespacedServiceAccountToken(
      {
        name: serviceAccount,
        namespace: entry.namespace,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: ttlSeconds, audiences: [] },
        },
      },
      abortableCall(AbortSignal.timeout(requestTimeoutMs)),
    );
    const token = review.status?.token;
    if (!token)
      throw new OnboardingError(`the TokenRequest for ${serviceAccount} returned no token`);
    const expires = review.status?.expirationTimestamp as unknown;
    return {
      token,
      ...(expires !== undefined && {
        expiresAt: expires instanceof Date ? expires.toISOString() : String(expires),
      }),
    };
  } catch (error) {
    if (error instanceof OnboardingError) throw error;
    const e = classifyError(error, { cluster: entry.name });
    const where = `requesting a token for ServiceAccount ${entry.namespace}/${serviceAccount} with the entry's own token (${entry.server})`;
    switch (e.kind) {
      case 'unauthorized':
        throw new OnboardingError(
          `${where}: the current token is no longer accepted (401): it expired or was revoked, so it cannot renew itself; issue a new one with podbus clusters rotate-token ${entry.name} --context <admin-context>`,
        );
      case 'forbidden':
        throw new OnboardingError(
          `${where}: forbidden (403): the service account may not renew its own token; apply deploy/target-cluster/components/token-self-renewal on the cluster, or pass --context <admin-context>`,
        );
      default:
        throw new OnboardingError(`${where}: ${e.detail}`);
    }
  }
}

/** client-node for the entry's own identity: its server, CA and the given token. */
function entryCoreApi(entry: ClusterEntry, token: string): CoreV1Api {
  const kc = new KubeConfig();
  const ca = loadCa(entry);
  kc.loadFromClusterAndUser(
    {
      name: entry.name,
      server: entry.server,
      skipTLSVerify: entry.insecureSkipTlsVerify,
      ...(ca !== undefined && { caData: Buffer.from(ca).toString('base64') }),
    },
    { name: 'podbus', token },
  );
  return kc.makeApiClient(CoreV1Api);
}

/**
 * Replaces the token file atomically (a new file, flushed to disk, renamed over the old): the
 * worker never reads half a token, and the new inode tells its FileTokenSource to read it again.
 * The new file keeps the old one's mode and, where this process may set it, its owner, so a
 * rotation run as another user than the worker's does not lock the worker out of its token;
 * a first file is 0600.
 */
export async function writeTokenFile(path: string, token: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}`);
  const previous = await stat(path).catch(() => undefined);
  const mode = previous === undefined ? 0o600 : previous.mode & 0o777;
  try {
    const file = await open(temp, 'wx', mode);
    try {
      await file.writeFile(`${token}\n`);
      await file.chmod(mode);
      if (previous !== undefined) {
        await file.chown(previous.uid, previous.gid).catch(() => {
          // Not allowed for an unprivileged user: the file is theirs, with the old mode.
        });
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Puts the token into a Secret of the cluster podbus runs in (the kubeconfig's current context,
 * or the pod's own service account in a CronJob): the kubelet then updates the mounted file,
 * which the worker re-reads. Needs get and update on that Secret.
 */
export async function writeTokenSecret(
  kubeConfig: KubeConfig,
  secret: { readonly namespace: string; readonly name: string; readonly key: string },
  token: string,
  requestTimeoutMs: number,
): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const where = `Secret ${secret.namespace}/${secret.name}`;
  try {
    const current = await core.readNamespacedSecret(
      { name: secret.name, namespace: secret.namespace },
      abortableCall(AbortSignal.timeout(requestTimeoutMs)),
    );
    current.data = { ...current.data, [secret.key]: Buffer.from(token).toString('base64') };
    if (current.stringData) delete current.stringData[secret.key];
    await core.replaceNamespacedSecret(
      { name: secret.name, namespace: secret.namespace, body: current },
      abortableCall(AbortSignal.timeout(requestTimeoutMs)),
    );
  } catch (error) {
    const e = classifyError(error, { cluster: 'local' });
    const hint =
      e.kind === 'forbidden'
        ? ': the rotating identity needs get and update on it (deploy/worker/components/token-rotation)'
        : e.kind === 'not-found' || e.kind === 'namespace-missing'
          ? ': create it first (deploy/worker/secrets/clusters.yaml)'
          : '';
    throw new OnboardingError(`writing the new token into ${where}: ${e.detail}${hint}`);
  }
}
