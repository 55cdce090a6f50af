import { describe, expect, it } from '@jest/globals';

import type { ExecClusterAuth } from '../../../src/clusters/cluster-entry.js';
import { ClusterError } from '../../../src/clusters/errors.js';
import type { ExecResult, RunCommand } from '../../../src/clusters/exec-plugin-process.js';
import { ExecTokenSource } from '../../../src/clusters/exec-token-source.js';

const auth: ExecClusterAuth = {
  type: 'exec',
  command: 'kubelogin',
  args: ['get-token', '--login', 'workloadidentity'],
  env: { AAD_LOGIN_METHOD: 'workloadidentity' },
  apiVersion: 'client.authentication.k8s.io/v1',
  installHint: 'install kubelogin: az aks install-cli',
  provideClusterInfo: true,
  timeoutSeconds: 30,
};

function credential(token: string, expirationTimestamp?: string): string {
  return JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token, ...(expirationTimestamp !== undefined && { expirationTimestamp }) },
  });
}

/** A plugin that answers from a script of results, recording how it was run. */
function plugin(results: ExecResult[]) {
  const calls: { command: string; args: readonly string[]; env: NodeJS.ProcessEnv }[] = [];
  const run: RunCommand = async (command, args, env) => {
    calls.push({ command, args, env });
    return results.shift() ?? { code: 0, stdout: credential('last'), stderr: '' };
  };
  return { run, calls };
}

const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });

describe('ExecTokenSource (client.authentication.k8s.io ExecCredential)', () => {
  it('runs the plugin with its args, env and KUBERNETES_EXEC_INFO, and caches until expiry', async () => {
    let now = Date.parse('2026-12-05T10:00:00Z');
    const { run, calls } = plugin([
      ok(credential('first', '2026-12-05T11:00:00Z')),
      ok(credential('second', '2026-12-05T12:00:00Z')),
    ]);
    const source = new ExecTokenSource({
      cluster: 'aks',
      server: 'https://aks.example:443',
      auth,
      run,
      now: () => now,
      env: { PATH: '/bin' },
    });
    expect(await source.current()).toBe('first');
    expect(await source.current()).toBe('first');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args).toEqual(auth.args);
    expect(calls[0]!.env).toMatchObject({ PATH: '/bin', AAD_LOGIN_METHOD: 'workloadidentity' });
    expect(JSON.parse(calls[0]!.env.KUBERNETES_EXEC_INFO!)).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false, cluster: { server: 'https://aks.example:443' } },
    });
    now = Date.parse('2026-12-05T11:00:00Z');
    expect(await source.current()).toBe('second');
    expect(calls).toHaveLength(2);
  });

  it("passes the worker's environment on without podbus's own settings (its secrets)", async () => {
    const { run, calls } = plugin([ok(credential('t'))]);
    const source = new ExecTokenSource({
      cluster: 'aks',
      server: 'https://a',
      auth,
      run,
      env: {
        PATH: '/bin',
        AZURE_CLIENT_ID: 'client',
        PODBUS_SERVICE_BUS_CONNECTION_STRING: 'Endpoint=sb://x/;SharedAccessKey=secret',
      },
    });
    await source.current();
    expect(calls[0]!.env.PATH).toBe('/bin');
    expect(calls[0]!.env.AZURE_CLIENT_ID).toBe('client');
    expect(calls[0]!.env.AAD_LOGIN_METHOD).toBe('workloadidentity');
    expect(calls[0]!.env).not.toHaveProperty('PODBUS_SERVICE_BUS_CONNECTION_STRING');
  });

  it('keeps a token without expiry until a 401, then asks again', async () => {
    const { run, calls } = plugin([ok(credential('old')), ok(credential('new'))]);
    const source = new ExecTokenSource({ cluster: 'aks', server: 'https://a', auth, run });
    expect(await source.current()).toBe('old');
    expect(await source.refreshAfterUnauthorized('old')).toBe(true);
    expect(await source.current()).toBe('new');
    expect(calls).toHaveLength(2);
  });

  it('says how to install a missing plugin', async () => {
    const missing = Object.assign(new Error('spawn kubelogin ENOENT'), { code: 'ENOENT' });
    const { run } = plugin([{ code: null, stdout: '', stderr: '', error: missing }]);
    const source = new ExecTokenSource({ cluster: 'aks', server: 'https://a', auth, run });
    await expect(source.current()).rejects.toThrow(
      new ClusterError({
        kind: 'config',
        cluster: 'aks',
        message: 'exec plugin kubelogin: not found: install kubelogin: az aks install-cli',
      }),
    );
  });

  it('shows a failing plugin stderr, with secrets scrubbed', async () => {
    const { run } = plugin([
      {
        code: 1,
        stdout: '',
        stderr:
          'error: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln was refused\n',
      },
    ]);
    const source = new ExecTokenSource({ cluster: 'aks', server: 'https://a', auth, run });
    const error = await source.current().catch((e: unknown) => e as ClusterError);
    expect((error as ClusterError).kind).toBe('config');
    expect((error as ClusterError).message).toMatch(
      /^cluster aks: exec plugin kubelogin: exited with 1: error: /,
    );
    expect((error as ClusterError).message).not.toContain('eyJzdWIiOiJ4In0');
  });

  it.each([
    ['not JSON', 'printed no ExecCredential JSON on stdout'],
    [JSON.stringify({ kind: 'Config' }), 'printed JSON that is not an ExecCredential'],
    [
      JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        kind: 'ExecCredential',
        status: { token: 't' },
      }),
      'printed apiVersion "client.authentication.k8s.io/v1beta1", but the entry asks for client.authentication.k8s.io/v1',
    ],
    [
      JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status: { clientCertificateData: 'x' },
      }),
      'printed an ExecCredential without status.token (client certificates are not supported)',
    ],
  ])('refuses output %s', async (stdout, why) => {
    const { run } = plugin([ok(stdout)]);
    const source = new ExecTokenSource({ cluster: 'aks', server: 'https://a', auth, run });
    await expect(source.current()).rejects.toThrow(`exec plugin kubelogin: ${why}`);
  });
});
