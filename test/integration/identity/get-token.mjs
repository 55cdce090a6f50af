// A kubeconfig credential plugin in the manner of `kubelogin get-token --login workloadidentity`:
// gets an Entra ID token for the AKS AAD server application with the unmodified
// WorkloadIdentityCredential (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE,
// AZURE_AUTHORITY_HOST from the environment) and prints a client.authentication.k8s.io/v1
// ExecCredential with its expiry. Flags: --server-id <app id> [--disable-instance-discovery].
import { WorkloadIdentityCredential } from '@azure/identity';

const args = process.argv.slice(2);
const serverId = args[args.indexOf('--server-id') + 1];
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO ?? '{}');
if (info.kind !== 'ExecCredential') {
  console.error('get-token: KUBERNETES_EXEC_INFO is not set: run me as an exec plugin');
  process.exit(1);
}
try {
  const credential = new WorkloadIdentityCredential({
    disableInstanceDiscovery: args.includes('--disable-instance-discovery'),
  });
  const token = await credential.getToken(`${serverId}/.default`);
  console.log(
    JSON.stringify({
      apiVersion: info.apiVersion,
      kind: 'ExecCredential',
      status: {
        token: token.token,
        expirationTimestamp: new Date(token.expiresOnTimestamp).toISOString(),
      },
    }),
  );
} catch (error) {
  console.error(`get-token: ${error.message.split('\n')[0]}`);
  process.exit(1);
}
