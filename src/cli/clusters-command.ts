// The `podbus clusters` command line; client-node loads only when a subcommand runs.
import type { Command } from 'commander';

import {
  DEFAULT_NAMESPACE,
  DEFAULT_SERVICE_ACCOUNT,
  ROLE_RULES,
  describeRules,
} from '../clusters/onboarding/objects.js';
import { envVarFor } from '../config/schema-tree.js';
import { EXIT } from './exit-codes.js';
import { routeCommanderOutput } from './io.js';
import type { AddFlags, VerifyFlags } from './clusters-actions.js';
import type { RotateFlags } from './clusters-rotate-actions.js';

const EXIT_HELP = `Exit codes: 0 done; 1 the cluster refused or failed (the message says what to do);
2 invalid flags, kubeconfig or configuration.`;

const CLUSTERS_FILE_ENV = envVarFor('clustersFile');
const actions = () => import('./clusters-actions.js');
const rotateActions = () => import('./clusters-rotate-actions.js');

/** `podbus clusters add|verify`: onboard target clusters with least privilege, and check them. */
export function registerClustersCommands(program: Command): void {
  const clusters = program
    .command('clusters')
    .description('Onboard target clusters (least privilege) and verify the configured ones.');
  routeCommanderOutput(clusters).addHelpText(
    'after',
    `
Examples:
  podbus clusters add aks-westeurope --context aks-westeurope-admin --clusters-file clusters.yaml
  podbus clusters verify --clusters-file clusters.yaml`,
  );

  clusters
    .command('add')
    .argument('<name>', 'name of the cluster entry (a DNS-1123 label, e.g. aks-westeurope)')
    .description(
      "Create podbus's least-privilege identity on a cluster with an admin kubeconfig context and write its cluster entry, token and CA.",
    )
    .requiredOption('--context <context>', 'admin kubeconfig context of the target cluster')
    .option('--kubeconfig <path>', 'kubeconfig to read (default $KUBECONFIG, else ~/.kube/config)')
    .option('--namespace <ns>', `namespace for challenge pods (default ${DEFAULT_NAMESPACE})`)
    .option('--create-namespace', 'create the namespace if it does not exist')
    .option(
      '--service-account <name>',
      `ServiceAccount (and Role/RoleBinding) name (default ${DEFAULT_SERVICE_ACCOUNT})`,
    )
    .option(
      '--token-ttl <duration>',
      'use an expiring TokenRequest token (e.g. 24h, 7d; at least 10m) instead of a long-lived token Secret',
    )
    .option(
      '--clusters-file <path>',
      `clusters file to update (default: ${CLUSTERS_FILE_ENV}, else clustersFile of --config)`,
    )
    .option(
      '-c, --config <file>',
      'podbus config file whose clustersFile to update; env PODBUS_CONFIG',
    )
    .option('--server <url>', "API server URL for the entry (default: the context's server)")
    .option('--weight <n>', 'weight of the entry (weighted strategy; default 1, kept on update)')
    .option(
      '--max-active-pods <n>',
      'maxActivePods of the entry (default 0 = no limit, kept on update)',
    )
    .option('--dry-run', 'print the objects and the entry; create and write nothing')
    .addHelpText(
      'after',
      `
What it does, with the admin context (the worker never sees it):
  1. Namespace (only with --create-namespace; otherwise it must exist), ServiceAccount,
     Role with pods: create, get, list, watch, delete - nothing else, in that namespace only
     (the seed bound cluster-admin) - and a RoleBinding, the same objects as
     deploy/target-cluster. Existing objects are kept; a Role with other rules is corrected.
  2. A long-lived token: a kubernetes.io/service-account-token Secret (<sa>-token) that the
     token controller fills in; or with --token-ttl a TokenRequest token that expires.
  3. Writes tokens/NAME.token (mode 0600) and tokens/NAME.ca.crt next to the clusters file,
     and adds or updates the entry NAME (server, tokenFile, caFile, namespace) in it, keeping
     the other entries and comments.
Idempotent: a second run changes nothing and says so. The token is never printed.

Examples:
  podbus clusters add aks-westeurope --context aks-westeurope-admin --clusters-file clusters.yaml
  podbus clusters add aks-2 --context aks-2-admin --namespace ctf --create-namespace \\
      --clusters-file /etc/podbus/clusters.yaml
  podbus clusters add aks-3 --context aks-3-admin --token-ttl 7d --clusters-file clusters.yaml
  podbus clusters add aks-westeurope --context aks-westeurope-admin --clusters-file clusters.yaml --dry-run

${EXIT_HELP}`,
    )
    .action(async (name: string, flags: AddFlags) => {
      const code = await (await actions()).runClustersAdd(name, flags);
      if (code !== EXIT.ok) process.exitCode = code;
    });

  clusters
    .command('verify')
    .description(
      'Check every configured cluster: reachable, TLS verified, token valid, permissions in its namespace, active pods vs capacity.',
    )
    .option('--clusters-file <path>', 'clusters file to check')
    .option(
      '-c, --config <file>',
      `podbus config file (its clustersFile or clusters); env PODBUS_CONFIG, ${CLUSTERS_FILE_ENV}`,
    )
    .option('--json', 'print JSON instead of a table')
    .option(
      '--timeout <seconds>',
      'per-request timeout, and how long to wait for pod counts (default 5)',
    )
    .addHelpText(
      'after',
      `
Per cluster: GET /version (reachable, TLS, token), a SelfSubjectAccessReview for each
permission podbus uses in the entry's namespace (${describeRules(ROLE_RULES)}; only
log tails need pods/log, so its absence is a warning), and the count of active podbus pods
against maxActivePods. Every failure says what to do.

Examples:
  podbus clusters verify --clusters-file clusters.yaml
  podbus clusters verify --config podbus.yaml --json

Exit codes: 0 every cluster passed; 1 at least one failed; 2 invalid flags or configuration.`,
    )
    .action(async (flags: VerifyFlags) => {
      const code = await (await actions()).runClustersVerify(flags);
      if (code !== EXIT.ok) process.exitCode = code;
    });

  clusters
    .command('rotate-token')
    .argument('[names...]', 'cluster entries whose token to renew')
    .description(
      'Renew expiring service-account tokens (TokenRequest) before they expire and write them where the worker reads them; the worker picks them up without a restart.',
    )
    .option('--all', 'every entry that uses token or tokenFile')
    .option('--token-ttl <duration>', 'lifetime of the new token (at least 10m; default 24h)')
    .option(
      '--context <context>',
      "admin kubeconfig context to request it with (default: the entry's own current token)",
    )
    .option(
      '--kubeconfig <path>',
      'kubeconfig of --context (default $KUBECONFIG, else ~/.kube/config)',
    )
    .option(
      '--service-account <name>',
      `ServiceAccount the token is for (default ${DEFAULT_SERVICE_ACCOUNT})`,
    )
    .option(
      '--secret <namespace/name>',
      "write into this Secret of the cluster podbus runs in (in a pod: its own service account; elsewhere: the kubeconfig's current context) instead of the tokenFile; {name} stands for the entry's name",
    )
    .option('--secret-key <key>', 'key of --secret that holds the token (default token)')
    .option('--clusters-file <path>', 'clusters file with the entries')
    .option(
      '-c, --config <file>',
      `podbus config file (its clustersFile or clusters); env PODBUS_CONFIG, ${CLUSTERS_FILE_ENV}`,
    )
    .option('--timeout <seconds>', 'per-request timeout (default 10)')
    .addHelpText(
      'after',
      `
Tokens from podbus clusters add --token-ttl expire. Run this well before they do (a CronJob
in the worker's cluster: deploy/worker/components/token-rotation). Without --context the
entry's current token asks for its successor, which needs a Role allowing create on
serviceaccounts/token for its own name (deploy/target-cluster/components/token-self-renewal);
an expired token cannot renew itself. The file is replaced atomically (mode 0600); a Secret is
updated in place and the kubelet refreshes the mounted file. The token is never printed.

Examples:
  podbus clusters rotate-token aks-westeurope --clusters-file clusters.yaml --token-ttl 24h
  podbus clusters rotate-token --all --config /etc/podbus/podbus.yaml \\
      --secret podbus/podbus-cluster-{name}
  podbus clusters rotate-token aks-2 --context aks-2-admin --clusters-file clusters.yaml

${EXIT_HELP}`,
    )
    .action(async (names: string[], flags: RotateFlags) => {
      const code = await (await rotateActions()).runClustersRotateToken(names, flags);
      if (code !== EXIT.ok) process.exitCode = code;
    });
}
