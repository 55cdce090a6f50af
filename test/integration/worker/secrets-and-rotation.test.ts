import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from '@jest/globals';

import { challenge, eventually, QUEUE, Stack } from './stack.js';

describe('worker: secrets and token rotation', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('keeps working across a token rotation, and no token or key ever reaches a log line', async () => {
    const sasKey = randomBytes(32).toString('base64');
    stack = await Stack.start({
      clusters: [{ name: 'alpha' }],
      sasKeys: [{ name: 'RootManageSharedAccessKey', key: sasKey }],
    });
    const alpha = stack.k8s.cluster('alpha');
    const tokenFile = join(stack.dir, 'alpha.token');
    const firstToken = alpha.issueToken({ namespace: alpha.namespace, serviceAccount: 'podbus' });
    await writeFile(tokenFile, firstToken);
    await stack.rewriteConfig((config) => {
      const [entry] = config.clusters as Record<string, unknown>[];
      delete entry!.token;
      entry!.tokenFile = tokenFile;
    });

    await stack.startWorker();
    await stack.send({ messageId: 'before-rotation', body: challenge('web-1', 'busybox:1.36') });
    await eventually('first pod', () => stack!.pods().length === 1);

    // Rotation: a new token lands in the file; the old one is revoked right after.
    const secondToken = alpha.issueToken({ namespace: alpha.namespace, serviceAccount: 'podbus' });
    await writeFile(tokenFile, secondToken);
    alpha.revokeToken(firstToken);
    await stack.send({ messageId: 'after-rotation', body: challenge('web-1', 'busybox:1.36') });
    await eventually('second pod', () => stack!.pods().length === 2, 20_000);

    // A revoked token with no replacement: 401s get logged (error paths are scanned too).
    alpha.revokeToken(secondToken);
    await stack.send({ messageId: 'unauthorized', body: challenge('web-1', 'busybox:1.36') });
    await eventually(
      'a 401 in the logs',
      () => stack!.logLines.some((l) => /unauthori[sz]ed/i.test(l)),
      20_000,
    );
    expect(stack.sb.inspect(QUEUE).deadLettered).toBe(0);

    const secrets = [sasKey, firstToken, secondToken, alpha.adminToken, stack.sb.connectionString];
    const log = stack.logLines.join('\n');
    // The scan covers the interesting lines: the rotation and the 401 were both logged.
    expect(log).toContain('token file changed; using the new token');
    expect(log).toContain('401 Unauthorized');
    for (const secret of secrets) {
      expect(log.includes(secret)).toBe(false);
      // Tokens are JWT-like: a leaked signature part alone is a leak too.
      for (const part of secret.split('.').filter((p) => p.length >= 16)) {
        expect(log.includes(part)).toBe(false);
      }
    }
  });
});
