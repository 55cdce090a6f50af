import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { loadConfig } from '../../../src/config/load-config.js';
import {
  CA_PEM,
  CLUSTER_TOKEN,
  CONNECTION_STRING,
  errorOf,
  minimalEnv,
  SAS_KEY,
  scratch,
} from './config-fixture.js';

describe('loadConfig: a valid configuration', () => {
  it('fills every default around the three required settings (the final Config shape)', () => {
    const { tokenFile } = scratch();
    expect(loadConfig({ env: minimalEnv(tokenFile) })).toEqual({
      serviceBus: {
        connectionString: CONNECTION_STRING,
        queueName: 'challenges',
        maxConcurrentCalls: 8,
        maxAutoLockRenewalDurationMs: 1_800_000,
      },
      azure: { authorityHost: '', disableInstanceDiscovery: false, managedIdentityClientId: '' },
      clustersFile: '',
      clusters: [
        {
          name: 'aks-a',
          server: 'https://a.example:443',
          tokenFile,
          insecureSkipTlsVerify: false,
          namespace: 'default',
          weight: 1,
          maxActivePods: 0,
          qps: 20,
          burst: 30,
          labels: {},
        },
      ],
      selection: { strategy: 'least-loaded', allowMessageClusterPreference: true },
      policy: {
        allowedImages: ['myacr.azurecr.io/challenges/*'],
        maxBodyBytes: 65536,
        maxContainers: 5,
        maxEnvVarsPerContainer: 50,
        defaultActiveDeadlineSeconds: 3600,
        maxActiveDeadlineSeconds: 86400,
        resources: {
          defaults: {
            requests: { cpu: '100m', memory: '128Mi' },
            limits: { cpu: '1', memory: '512Mi' },
          },
          max: { cpu: '2', memory: '4Gi' },
        },
        labels: { maxCount: 10, forbiddenPrefixes: ['kubernetes.io', 'k8s.io', 'podbus.io'] },
      },
      pod: {
        imagePullPolicy: 'Always',
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        priorityClassName: '',
        labels: {},
        annotations: {},
        securityContext: {
          runAsNonRoot: false,
          seccompProfile: 'RuntimeDefault',
          allowPrivilegeEscalation: false,
          dropAllCapabilities: true,
          readOnlyRootFilesystem: false,
        },
      },
      worker: {
        shutdownGraceMs: 30000,
        transientRetryBudgetMs: 300000,
        retry: { initialDelayMs: 500, maxDelayMs: 30000 },
        clusterRequestTimeoutMs: 10000,
      },
      results: { queueName: '', allowedReplyTo: [], stuckAfterSeconds: 300, logTailBytes: 0 },
      cleanup: { ttlSecondsAfterFinished: 3600, stuckPendingSeconds: 900, minimumAgeSeconds: 600 },
      leaderElection: {
        leaseName: 'podbus-results',
        leaseDurationSeconds: 15,
        renewDeadlineSeconds: 10,
        retryPeriodSeconds: 2,
      },
      log: { level: 'info', pretty: false },
      http: { enabled: true, host: '0.0.0.0', port: 9090 },
    });
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ env: minimalEnv(scratch().tokenFile) });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.policy.resources.defaults.limits)).toBe(true);
    expect(Object.isFrozen(config.clusters[0])).toBe(true);
    expect(Object.isFrozen(config.policy.allowedImages)).toBe(true);
    expect(() => {
      (config.log as { level: string }).level = 'debug';
    }).toThrow(TypeError);
  });

  it('layers defaults < file < environment < overrides', () => {
    const s = scratch();
    const file = s.write(
      'podbus.yaml',
      [
        'serviceBus:',
        '  queueName: from-file',
        '  maxConcurrentCalls: 4',
        'log:',
        '  level: warn',
        '  pretty: true',
        'policy:',
        '  allowedImages: ["nginx", "ghcr.io/org/**"]',
        '  resources:',
        '    max:',
        '      cpu: 4',
        '',
      ].join('\n'),
    );
    const config = loadConfig({
      file,
      env: {
        ...minimalEnv(s.tokenFile),
        PODBUS_SERVICE_BUS_MAX_CONCURRENT_CALLS: '16',
        PODBUS_LOG_LEVEL: 'error',
      },
      overrides: { 'log.level': 'debug', 'http.port': 0, 'http.enabled': 'false' },
    });
    expect(config.serviceBus.queueName).toBe('from-file');
    expect(config.serviceBus.maxConcurrentCalls).toBe(16);
    expect(config.log).toEqual({ level: 'debug', pretty: true });
    expect(config.http).toEqual({ enabled: false, host: '0.0.0.0', port: 0 });
    // The environment's allowlist wins over the file's.
    expect(config.policy.allowedImages).toEqual(['myacr.azurecr.io/challenges/*']);
    // A YAML number for a quantity is kept as a string.
    expect(config.policy.resources.max.cpu).toBe('4');
  });

  it('treats an empty YAML value as unset (the default applies)', () => {
    const s = scratch();
    const file = s.write('podbus.yaml', 'pod:\n  priorityClassName:\n  labels:\nlog:\n');
    const config = loadConfig({ file, env: minimalEnv(s.tokenFile) });
    expect([config.pod.priorityClassName, config.pod.labels, config.log.level]).toEqual([
      '',
      {},
      'info',
    ]);
  });

  it('reads JSON config files too', () => {
    const s = scratch();
    const file = s.write('podbus.json', JSON.stringify({ selection: { strategy: 'hash' } }));
    expect(loadConfig({ file, env: minimalEnv(s.tokenFile) }).selection.strategy).toBe('hash');
  });

  it('parses lists and maps from environment variables', () => {
    const s = scratch();
    const config = loadConfig({
      env: minimalEnv(s.tokenFile, {
        PODBUS_POLICY_ALLOWED_IMAGES: ' nginx , ghcr.io/org/** ,',
        PODBUS_POD_LABELS: 'team=blue, course=k8s-101',
        PODBUS_POD_ANNOTATIONS: '{"example.com/owner":"ops"}',
        PODBUS_POD_SECURITY_CONTEXT_RUN_AS_NON_ROOT: 'true',
      }),
    });
    expect(config.policy.allowedImages).toEqual(['nginx', 'ghcr.io/org/**']);
    expect(config.pod.labels).toEqual({ team: 'blue', course: 'k8s-101' });
    expect(config.pod.annotations).toEqual({ 'example.com/owner': 'ops' });
    expect(config.pod.securityContext.runAsNonRoot).toBe(true);
  });

  it('reads a clusters file, resolving paths against the files that name them', () => {
    const s = scratch();
    mkdirSync(join(s.dir, 'conf'));
    mkdirSync(join(s.dir, 'conf', 'secrets'));
    const token = s.write('conf/secrets/aks-b.token', 'tok');
    s.write('conf/ca-b.pem', CA_PEM);
    s.write(
      'conf/clusters.yaml',
      [
        '- name: aks-b',
        '  server: https://b.example/',
        '  tokenFile: secrets/aks-b.token',
        '  caFile: ca-b.pem',
        '  namespace: challenges',
        '  weight: 2.5',
        '  maxActivePods: 40',
        '  qps: 12.5',
        '  burst: 25',
        '  labels: { region: westeurope }',
        '',
      ].join('\n'),
    );
    const file = s.write('conf/podbus.yaml', 'clustersFile: clusters.yaml\n');
    const env = minimalEnv(s.tokenFile);
    delete env.PODBUS_CLUSTERS;
    const config = loadConfig({ file, env });
    expect(config.clustersFile).toBe(join(s.dir, 'conf', 'clusters.yaml'));
    expect(config.clusters).toEqual([
      {
        name: 'aks-b',
        server: 'https://b.example',
        tokenFile: token,
        caFile: join(s.dir, 'conf', 'ca-b.pem'),
        insecureSkipTlsVerify: false,
        namespace: 'challenges',
        weight: 2.5,
        maxActivePods: 40,
        qps: 12.5,
        burst: 25,
        labels: { region: 'westeurope' },
      },
    ]);
  });

  it('accepts a clusters file holding { clusters: [...] } and inline tokens and CAs', () => {
    const s = scratch();
    const clustersFile = s.write(
      'clusters.json',
      JSON.stringify({
        clusters: [{ name: 'x', server: 'https://x', token: ` ${CLUSTER_TOKEN}\n`, ca: CA_PEM }],
      }),
    );
    const env: Record<string, string> = {
      ...minimalEnv(s.tokenFile),
      PODBUS_CLUSTERS_FILE: clustersFile,
    };
    delete env.PODBUS_CLUSTERS;
    const [entry] = loadConfig({ env }).clusters;
    expect(entry).toMatchObject({ name: 'x', token: CLUSTER_TOKEN, ca: CA_PEM });
  });

  it('accepts http only together with insecureSkipTlsVerify', () => {
    const s = scratch();
    const env = minimalEnv(s.tokenFile, {
      PODBUS_CLUSTERS: JSON.stringify([
        {
          name: 'local',
          server: 'http://127.0.0.1:8080',
          tokenFile: s.tokenFile,
          insecureSkipTlsVerify: true,
        },
      ]),
    });
    expect(loadConfig({ env }).clusters[0]?.insecureSkipTlsVerify).toBe(true);
  });
});

describe('loadConfig: every problem, as a person reads it', () => {
  it('an empty configuration names the three things that must be set', () => {
    expect(errorOf({ env: {} })).toBe(
      [
        'invalid configuration (3 problems):',
        '  - serviceBus: needs connectionString or fullyQualifiedNamespace. Fix: set PODBUS_SERVICE_BUS_CONNECTION_STRING (a shared access key, e.g. from a Kubernetes Secret; a secret has no command-line flag), or PODBUS_SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE with PODBUS_SERVICE_BUS_CREDENTIAL (Microsoft Entra ID: workload-identity, managed-identity, azure-cli, default), or the same options in the file given with --config',
        '  - policy.allowedImages: is empty; podbus refuses to start without an image allowlist. Fix: list the images messages may run, e.g. ["myacr.azurecr.io/challenges/*"], or ["*"] to allow any image (PODBUS_POLICY_ALLOWED_IMAGES takes a comma-separated list)',
        '  - clusters: no clusters are configured. Fix: set clustersFile to a YAML or JSON list of clusters (PODBUS_CLUSTERS_FILE), or list them under clusters',
      ].join('\n'),
    );
  });

  it('bad values say what is expected, the value and where it came from', () => {
    const s = scratch();
    const file = s.write('podbus.yaml', 'selection:\n  strategy: fastest\nhttp:\n  port: 70000\n');
    expect(
      errorOf({
        file,
        env: minimalEnv(s.tokenFile, {
          PODBUS_SERVICE_BUS_MAX_CONCURRENT_CALLS: 'abc',
          PODBUS_WORKER_SHUTDOWN_GRACE_MS: '30s',
          PODBUS_LOG_PRETTY: 'maybe',
        }),
        overrides: { 'pod.imagePullPolicy': 'always', 'policy.resources.max.memory': '4GB' },
      }),
    ).toBe(
      [
        'invalid configuration (7 problems):',
        '  - serviceBus.maxConcurrentCalls: must be a whole number from 1 to 1000 (got "abc" from PODBUS_SERVICE_BUS_MAX_CONCURRENT_CALLS)',
        `  - selection.strategy: must be one of: round-robin, weighted, least-loaded, hash (got "fastest" in ${file})`,
        '  - policy.resources.max.memory: must be a Kubernetes quantity such as "500m", "2", "128Mi" or "1Gi" (got "4GB" from a command-line override)',
        '  - pod.imagePullPolicy: must be one of: Always, IfNotPresent, Never (got "always" from a command-line override)',
        '  - worker.shutdownGraceMs: must be a whole number of at least 0 (got "30s" from PODBUS_WORKER_SHUTDOWN_GRACE_MS)',
        '  - log.pretty: must be true or false (got "maybe" from PODBUS_LOG_PRETTY)',
        `  - http.port: must be a whole number from 0 to 65535 (got 70000 in ${file})`,
      ].join('\n'),
    );
  });

  it('unknown keys and overrides are refused, with a suggestion', () => {
    const s = scratch();
    const file = s.write(
      'podbus.yaml',
      'serviceBus:\n  queue: x\nservicebus: {}\npolicy: 5\nworker:\n  retry:\n    maxDelay: 5\n',
    );
    expect(
      errorOf({
        file,
        env: minimalEnv(s.tokenFile),
        overrides: { 'log.levl': 'debug', 'worker.retry': 3 },
      }),
    ).toBe(
      [
        'invalid configuration (6 problems):',
        `  - serviceBus.queue: is not a podbus option (did you mean serviceBus.queueName?) (in ${file})`,
        `  - servicebus: is not a podbus option (did you mean serviceBus?) (in ${file})`,
        `  - policy: must be a section with allowedImages, maxBodyBytes, maxContainers, maxEnvVarsPerContainer, defaultActiveDeadlineSeconds, maxActiveDeadlineSeconds, resources, labels, not 5 (in ${file})`,
        `  - worker.retry.maxDelay: is not a podbus option (did you mean worker.retry.maxDelayMs?) (in ${file})`,
        '  - override log.levl: is not a podbus option (did you mean log.level?)',
        '  - override worker.retry: is a section, not an option; set one of worker.retry.initialDelayMs, worker.retry.maxDelayMs',
      ].join('\n'),
    );
  });

  it('a config file that cannot be read or parsed is reported alone', () => {
    const s = scratch();
    expect(errorOf({ file: join(s.dir, 'missing.yaml'), env: {} })).toBe(
      `invalid configuration (1 problem):\n  - --config: cannot read "${join(s.dir, 'missing.yaml')}": no such file or directory`,
    );
    const bad = s.write(
      'bad.yaml',
      'serviceBus:\n  connectionString: "Endpoint=sb://x/;SharedAccessKey=abc\n  queueName: [\n',
    );
    const message = errorOf({ file: bad, env: {} });
    expect(message).toMatch(
      new RegExp(
        `^invalid configuration \\(1 problem\\):\\n  - --config: "${bad}" is not valid YAML or JSON: .* at line \\d+, column \\d+:$`,
      ),
    );
    expect(message).not.toContain('abc');
    expect(errorOf({ file: s.write('list.yaml', '- a\n'), env: {} })).toBe(
      `invalid configuration (1 problem):\n  - --config: "${join(s.dir, 'list.yaml')}" must hold a mapping of sections (serviceBus, policy, ...)`,
    );
  });

  it('refuses an allowlist pattern whose "**" does not stand alone, saying why and what to write', () => {
    const s = scratch();
    expect(
      errorOf({
        env: minimalEnv(s.tokenFile, {
          PODBUS_POLICY_ALLOWED_IMAGES: 'myacr.azurecr.io/challenges**',
        }),
      }),
    ).toBe(
      [
        'invalid configuration (1 problem):',
        '  - policy.allowedImages[0]: "myacr.azurecr.io/challenges**": "**" must be a whole path component, as in "myacr.azurecr.io/challenges/**"; inside "challenges**" it would also match sibling repositories such as "myacr.azurecr.io/challenges-other/image"',
      ].join('\n'),
    );
  });

  it('refuses zero resource defaults and maximums', () => {
    const s = scratch();
    expect(
      errorOf({
        env: minimalEnv(s.tokenFile, {
          PODBUS_POLICY_RESOURCES_DEFAULTS_REQUESTS_CPU: '0',
          PODBUS_POLICY_RESOURCES_DEFAULTS_REQUESTS_MEMORY: '0Mi',
        }),
      }),
    ).toBe(
      [
        'invalid configuration (2 problems):',
        '  - policy.resources.defaults.requests.cpu: is "0"; it must be more than 0',
        '  - policy.resources.defaults.requests.memory: is "0Mi"; it must be more than 0',
      ].join('\n'),
    );
  });

  it('relationships between options are checked', () => {
    const s = scratch();
    expect(
      errorOf({
        env: minimalEnv(s.tokenFile, {
          PODBUS_WORKER_TRANSIENT_RETRY_BUDGET_MS: '1800000',
          PODBUS_WORKER_RETRY_INITIAL_DELAY_MS: '60000',
          PODBUS_POLICY_DEFAULT_ACTIVE_DEADLINE_SECONDS: '90000',
          PODBUS_POLICY_RESOURCES_DEFAULTS_REQUESTS_CPU: '1500m',
          PODBUS_POLICY_RESOURCES_DEFAULTS_LIMITS_MEMORY: '8Gi',
          PODBUS_POLICY_ALLOWED_IMAGES: 'nginx:1.27,ok.io/x',
          PODBUS_POD_LABELS: 'messageId=x,team=not ok!',
          PODBUS_POD_ANNOTATIONS: 'podbus.io/note=x',
          PODBUS_POLICY_LABELS_FORBIDDEN_PREFIXES: 'kubernetes.io/,Bad_Domain',
        }),
      }),
    ).toBe(
      [
        'invalid configuration (10 problems):',
        '  - policy.allowedImages[0]: "nginx:1.27" has a tag; patterns match registry/repository only (drop ":1.27")',
        '  - policy.resources.defaults.requests.cpu: is "1500m", more than policy.resources.defaults.limits.cpu ("1")',
        '  - policy.resources.defaults.limits.memory: is "8Gi", more than policy.resources.max.memory ("4Gi")',
        '  - policy.defaultActiveDeadlineSeconds: is 90000, more than policy.maxActiveDeadlineSeconds (86400)',
        '  - worker.transientRetryBudgetMs: is 1800000, not less than serviceBus.maxAutoLockRenewalDurationMs (1800000). Fix: a message must be given back before its lock stops being renewed; lower the budget or raise the renewal duration',
        '  - worker.retry.initialDelayMs: is 60000, more than worker.retry.maxDelayMs (30000)',
        '  - pod.labels: "messageId" is set by podbus itself',
        '  - pod.labels: "not ok!" is not a valid label value (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)',
        '  - pod.annotations: "podbus.io/note" uses the reserved prefix podbus.io/',
        '  - policy.labels.forbiddenPrefixes[1]: "Bad_Domain" is not a DNS subdomain such as example.com',
      ].join('\n'),
    );
  });

  it('results, cleanup and the lease: values, never, and what must hold between them', () => {
    const s = scratch();
    const file = s.write(
      'podbus.yaml',
      [
        'results:',
        '  queueName: results',
        '  allowedReplyTo: ["team-*"]',
        '  logTailBytes: 4096',
        'cleanup:',
        '  ttlSecondsAfterFinished: 0',
        '  stuckPendingSeconds: never',
        '',
      ].join('\n'),
    );
    const config = loadConfig({
      file,
      env: minimalEnv(s.tokenFile, { PODBUS_CLEANUP_TTL_SECONDS_AFTER_FINISHED: 'never' }),
    });
    expect(config.results).toEqual({
      queueName: 'results',
      allowedReplyTo: ['team-*'],
      stuckAfterSeconds: 300,
      logTailBytes: 4096,
    });
    expect(config.cleanup).toEqual({
      ttlSecondsAfterFinished: 'never',
      stuckPendingSeconds: 'never',
      minimumAgeSeconds: 600,
    });
    expect(
      errorOf({
        env: minimalEnv(s.tokenFile, {
          PODBUS_RESULTS_QUEUE_NAME: 'sb://ns/results',
          PODBUS_RESULTS_ALLOWED_REPLY_TO: 'team-*,no spaces',
          PODBUS_CLEANUP_TTL_SECONDS_AFTER_FINISHED: 'soon',
          PODBUS_CLEANUP_STUCK_PENDING_SECONDS: '-1',
          PODBUS_LEADER_ELECTION_LEASE_DURATION_SECONDS: '10',
          PODBUS_LEADER_ELECTION_RETRY_PERIOD_SECONDS: '9',
        }),
      }),
    ).toBe(
      [
        'invalid configuration (6 problems):',
        '  - cleanup.ttlSecondsAfterFinished: must be a whole number from 0 to 2147483647, or never (got "soon" from PODBUS_CLEANUP_TTL_SECONDS_AFTER_FINISHED)',
        '  - cleanup.stuckPendingSeconds: must be a whole number from 0 to 2147483647, or never (got -1 from PODBUS_CLEANUP_STUCK_PENDING_SECONDS)',
        '  - results.queueName: "sb://ns/results" is not a Service Bus queue name (letters, digits, ".", "-", "_" and "/", starting and ending with a letter or digit, at most 260)',
        '  - results.allowedReplyTo[1]: "no spaces" may only contain letters, digits, ".", "_", "-", "/" and "*"',
        '  - leaderElection.renewDeadlineSeconds: is 10, not less than leaderElection.leaseDurationSeconds (10). Fix: the leader must give up before the others may take over: lower the deadline or raise the duration',
        '  - leaderElection.renewDeadlineSeconds: is 10, not more than 1.2 × leaderElection.retryPeriodSeconds (9). Fix: the leader needs room for more than one renewal attempt before its deadline',
      ].join('\n'),
    );
  });

  it('a queue name must match the EntityPath of a queue-scoped connection string', () => {
    const s = scratch();
    expect(
      errorOf({
        env: minimalEnv(s.tokenFile, {
          PODBUS_SERVICE_BUS_CONNECTION_STRING: `${CONNECTION_STRING};EntityPath=other`,
        }),
      }),
    ).toBe(
      'invalid configuration (1 problem):\n  - serviceBus.queueName: is "challenges" but the connection string is scoped to EntityPath=other. Fix: use the queue the connection string was issued for, or a namespace-level connection string',
    );
  });
});

describe('loadConfig: clusters', () => {
  function clusterError(entries: unknown[], tokenFile = scratch().tokenFile): string {
    return errorOf({ env: minimalEnv(tokenFile, { PODBUS_CLUSTERS: JSON.stringify(entries) }) });
  }

  it('bad URLs', () => {
    const s = scratch();
    expect(
      clusterError(
        [
          { name: 'a', server: 'http://a.example', tokenFile: s.tokenFile },
          { name: 'b', server: 'not a url', tokenFile: s.tokenFile },
          { name: 'c', server: `https://admin:${CLUSTER_TOKEN}@c.example`, tokenFile: s.tokenFile },
          { name: 'd', server: 'ftp://d.example', tokenFile: s.tokenFile },
          { name: 'e', tokenFile: s.tokenFile },
          { name: 'f', server: 'https://f.example/?x=1', tokenFile: s.tokenFile },
        ],
        s.tokenFile,
      ),
    ).toBe(
      [
        'invalid configuration (6 problems):',
        '  - clusters[0].server: uses http://, which would send the token in clear text; use https:// (http is only accepted with insecureSkipTlsVerify: true)',
        '  - clusters[1].server: is not a URL, e.g. https://myaks-dns-1234.hcp.westeurope.azmk8s.io:443',
        '  - clusters[2].server: must not contain a user name or password; give the token in tokenFile or token',
        '  - clusters[3].server: must be an https:// URL, e.g. https://myaks-dns-1234.hcp.westeurope.azmk8s.io:443',
        '  - clusters[4].server: must be set, e.g. https://myaks-dns-1234.hcp.westeurope.azmk8s.io:443',
        '  - clusters[5].server: must not have a query string or fragment',
      ].join('\n'),
    );
  });

  it('duplicate names, bad names and unknown fields', () => {
    const s = scratch();
    expect(
      clusterError(
        [
          { name: 'aks-a', server: 'https://a', tokenFile: s.tokenFile },
          { name: 'aks-a', server: 'https://b', tokenFile: s.tokenFile },
          { name: 'AKS_C', server: 'https://c', tokenFile: s.tokenFile, tokn: 'x' },
          'aks-d',
        ],
        s.tokenFile,
      ),
    ).toBe(
      [
        'invalid configuration (4 problems):',
        '  - clusters[1].name: "aks-a" is already used by clusters[0]; names must be unique',
        '  - clusters[2].tokn: is not a cluster option (did you mean "token"?)',
        '  - clusters[2].name: must be a DNS-1123 label: lowercase letters, digits and "-", at most 63 characters (got "AKS_C")',
        '  - clusters[3]: must be a mapping with name, server and tokenFile, token or auth',
      ].join('\n'),
    );
  });

  it('credentials: both, neither, empty, unreadable files', () => {
    const s = scratch();
    const empty = s.write('empty-token', '');
    const missing = join(s.dir, 'no-such-token');
    const locked = s.write('locked-token', 'x');
    chmodSync(locked, 0o000);
    const entries = [
      { name: 'a', server: 'https://a', token: CLUSTER_TOKEN, tokenFile: s.tokenFile },
      { name: 'b', server: 'https://b' },
      { name: 'c', server: 'https://c', token: '  ' },
      { name: 'd', server: 'https://d', tokenFile: missing },
      { name: 'e', server: 'https://e', tokenFile: empty },
      { name: 'f', server: 'https://f', tokenFile: s.dir },
      { name: 'g', server: 'https://g', tokenFile: s.tokenFile, ca: 'not pem', caFile: s.caFile },
      { name: 'h', server: 'https://h', tokenFile: s.tokenFile, ca: 'not pem' },
      { name: 'i', server: 'https://i', tokenFile: s.tokenFile, caFile: s.tokenFile },
    ];
    const rootCanRead = process.getuid?.() === 0;
    if (!rootCanRead) entries.push({ name: 'j', server: 'https://j', tokenFile: locked });
    const message = clusterError(entries, s.tokenFile);
    expect(message).toBe(
      [
        `invalid configuration (${rootCanRead ? 9 : 10} problems):`,
        '  - clusters[0]: token and tokenFile are set; use one (tokenFile for a mounted Secret, auth for Entra ID or an exec plugin)',
        '  - clusters[1]: has no credentials. Fix: set tokenFile to the path of a mounted service-account token, token, or auth (type azure for Microsoft Entra ID, type exec for a credential plugin such as kubelogin)',
        '  - clusters[2].token: must be a non-empty string',
        `  - clusters[3].tokenFile: cannot read "${missing}": no such file or directory`,
        `  - clusters[4].tokenFile: "${empty}" is empty`,
        `  - clusters[5].tokenFile: cannot read "${s.dir}": it is a directory`,
        '  - clusters[6]: ca and caFile are both set; use one',
        '  - clusters[7].ca: must be a PEM certificate bundle (-----BEGIN CERTIFICATE----- ...)',
        `  - clusters[8].caFile: "${s.tokenFile}" holds no PEM certificate (-----BEGIN CERTIFICATE----- ...)`,
        ...(rootCanRead
          ? []
          : [`  - clusters[9].tokenFile: cannot read "${locked}": permission denied`]),
      ].join('\n'),
    );
    expect(message).not.toContain(CLUSTER_TOKEN);
  });

  it('auth: Entra ID and exec plugins, checked field by field', () => {
    const s = scratch();
    const entries = [
      { name: 'a', server: 'https://a', auth: { type: 'azure', credential: 'workload-identity' } },
      {
        name: 'b',
        server: 'https://b',
        auth: {
          type: 'exec',
          command: 'kubelogin',
          args: ['get-token', '--login', 'workloadidentity'],
          env: [{ name: 'AAD_SERVICE_PRINCIPAL_CLIENT_SECRET', value: 'sekrit' }],
        },
      },
    ];
    const config = loadConfig({
      env: {
        ...minimalEnv(s.tokenFile),
        PODBUS_CLUSTERS: JSON.stringify(entries),
        PODBUS_AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us',
      },
    });
    expect(config.clusters.map((c) => c.auth)).toEqual([
      {
        type: 'azure',
        credential: 'workload-identity',
        scope: '6dae42f8-4368-4678-94ff-3960e28e3630/.default',
        identity: {
          authorityHost: 'https://login.microsoftonline.us',
          disableInstanceDiscovery: false,
          managedIdentityClientId: '',
        },
      },
      {
        type: 'exec',
        command: 'kubelogin',
        args: ['get-token', '--login', 'workloadidentity'],
        env: { AAD_SERVICE_PRINCIPAL_CLIENT_SECRET: 'sekrit' },
        apiVersion: 'client.authentication.k8s.io/v1',
        provideClusterInfo: false,
        timeoutSeconds: 30,
      },
    ]);
    const message = clusterError(
      [
        {
          name: 'c',
          server: 'https://c',
          tokenFile: s.tokenFile,
          auth: { type: 'azure', credential: 'default' },
        },
        { name: 'd', server: 'https://d', auth: { type: 'oidc' } },
        {
          name: 'e',
          server: 'https://e',
          auth: { type: 'azure', credential: 'password', scop: 'x' },
        },
        {
          name: 'f',
          server: 'https://f',
          auth: { type: 'azure', credential: 'default', scope: 'https://management.azure.com' },
        },
        { name: 'g', server: 'https://g', auth: { type: 'exec', args: 'get-token' } },
        {
          name: 'h',
          server: 'https://h',
          auth: {
            type: 'exec',
            command: 'kubelogin',
            apiVersion: 'client.authentication.k8s.io/v1alpha1',
            interactiveMode: 'Always',
            env: 'X=1',
          },
        },
      ],
      s.tokenFile,
    );
    expect(message).toBe(
      [
        'invalid configuration (9 problems):',
        '  - clusters[0]: tokenFile and auth are set; use one (tokenFile for a mounted Secret, auth for Entra ID or an exec plugin)',
        '  - clusters[1].auth.type: must be azure or exec (got "oidc")',
        '  - clusters[2].auth.scop: is not an option of auth type azure (did you mean "scope"?)',
        '  - clusters[2].auth.credential: must be one of workload-identity, managed-identity, azure-cli, default (got "password"). Fix: workload-identity in AKS with Azure Workload Identity; managed-identity for a VM or node identity',
        '  - clusters[3].auth.scope: must be a resource\'s .default scope, e.g. 6dae42f8-4368-4678-94ff-3960e28e3630/.default (the AKS AAD server application; got "https://management.azure.com")',
        '  - clusters[4].auth.command: must be the plugin to run, e.g. kubelogin',
        '  - clusters[5].auth.env: must be a list of {name, value} (as in a kubeconfig) or a map of names to strings',
        '  - clusters[5].auth.apiVersion: must be client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1 (got "client.authentication.k8s.io/v1alpha1")',
      ].join('\n') +
        '\n  - clusters[5].auth.interactiveMode: must be Never or IfAvailable: podbus runs without a terminal, so a plugin that always asks (Always) cannot work',
    );
  });

  it('numbers and other fields', () => {
    const s = scratch();
    expect(
      clusterError(
        [
          {
            name: 'a',
            server: 'https://a',
            tokenFile: s.tokenFile,
            weight: 0,
            maxActivePods: -1,
            qps: -5,
            burst: 0,
          },
          {
            name: 'b',
            server: 'https://b',
            tokenFile: s.tokenFile,
            weight: 'heavy',
            maxActivePods: 1.5,
            qps: 'fast',
            burst: 2.5,
          },
          {
            name: 'c',
            server: 'https://c',
            tokenFile: s.tokenFile,
            namespace: 'Bad NS',
            insecureSkipTlsVerify: 'yes',
            labels: { a: 1 },
          },
        ],
        s.tokenFile,
      ),
    ).toBe(
      [
        'invalid configuration (11 problems):',
        '  - clusters[0].weight: must be a number greater than 0 (got 0)',
        '  - clusters[0].maxActivePods: must be a whole number, 0 or more (0: no limit) (got -1)',
        '  - clusters[0].qps: must be a number, 0 or more (requests per second; 0: no limit) (got -5)',
        '  - clusters[0].burst: must be a whole number, 1 or more (got 0)',
        '  - clusters[1].weight: must be a number greater than 0 (got "heavy")',
        '  - clusters[1].maxActivePods: must be a whole number, 0 or more (0: no limit) (got 1.5)',
        '  - clusters[1].qps: must be a number, 0 or more (requests per second; 0: no limit) (got "fast")',
        '  - clusters[1].burst: must be a whole number, 1 or more (got 2.5)',
        '  - clusters[2].insecureSkipTlsVerify: must be true or false (got "yes")',
        '  - clusters[2].namespace: must be a namespace name (a DNS-1123 label) (got "Bad NS")',
        '  - clusters[2].labels: must be a map of names to string values',
      ].join('\n'),
    );
  });

  it('clusters and clustersFile together, bad files, and a clusters value that is not a list', () => {
    const s = scratch();
    const both = minimalEnv(s.tokenFile, { PODBUS_CLUSTERS_FILE: s.write('c.yaml', '[]') });
    expect(errorOf({ env: both })).toBe(
      'invalid configuration (1 problem):\n  - clustersFile: and clusters are both set (clustersFile from PODBUS_CLUSTERS_FILE, clusters from PODBUS_CLUSTERS); use one',
    );
    const env = minimalEnv(s.tokenFile);
    delete env.PODBUS_CLUSTERS;
    expect(errorOf({ env: { ...env, PODBUS_CLUSTERS_FILE: s.write('empty.yaml', '[]') } })).toBe(
      `invalid configuration (1 problem):\n  - clustersFile: "${join(s.dir, 'empty.yaml')}" must hold a non-empty list of clusters (or a mapping with a clusters list)`,
    );
    const withProblem = s.write('bad.yaml', '- name: a\n  server: https://a\n');
    expect(errorOf({ env: { ...env, PODBUS_CLUSTERS_FILE: withProblem } })).toBe(
      `invalid configuration (1 problem):\n  - clusters[0]: has no credentials (in ${withProblem}). Fix: set tokenFile to the path of a mounted service-account token, token, or auth (type azure for Microsoft Entra ID, type exec for a credential plugin such as kubelogin)`,
    );
    expect(errorOf({ env: { ...env, PODBUS_CLUSTERS: '{not a list' } })).toBe(
      'invalid configuration (1 problem):\n  - clusters: must be a list of cluster entries (in an environment variable: a JSON list) (set from PODBUS_CLUSTERS)',
    );
  });
});

describe('loadConfig never shows a secret', () => {
  it('not a malformed connection string, not an inline token, not a secret put in the wrong option', () => {
    const s = scratch();
    const message = errorOf({
      env: {
        PODBUS_SERVICE_BUS_CONNECTION_STRING: `SharedAccessKeyName=x;SharedAccessKey=${SAS_KEY}`,
        PODBUS_POLICY_ALLOWED_IMAGES: '*',
        PODBUS_CLUSTERS: JSON.stringify([
          { name: 'Bad', server: `https://x:${CLUSTER_TOKEN}@h`, token: CLUSTER_TOKEN },
        ]),
        PODBUS_LOG_LEVEL: CONNECTION_STRING,
      },
    });
    expect(message).toBe(
      [
        'invalid configuration (4 problems):',
        '  - serviceBus.connectionString: is not a Service Bus connection string: it has no Endpoint=sb://<namespace>/ member (set from PODBUS_SERVICE_BUS_CONNECTION_STRING)',
        '  - log.level: must be one of: fatal, error, warn, info, debug, trace, silent (got "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyNam… from PODBUS_LOG_LEVEL)',
        '  - clusters[0].name: must be a DNS-1123 label: lowercase letters, digits and "-", at most 63 characters (got "Bad")',
        '  - clusters[0].server: must not contain a user name or password; give the token in tokenFile or token',
      ].join('\n'),
    );
    expect(message).not.toContain(SAS_KEY);
    expect(message).not.toContain(CLUSTER_TOKEN);
    void s;
  });

  it('scrubs a secret echoed from a non-sensitive option', () => {
    const s = scratch();
    const message = errorOf({
      env: minimalEnv(s.tokenFile, { PODBUS_LOG_LEVEL: `SharedAccessKey=${SAS_KEY}` }),
    });
    expect(message).toBe(
      'invalid configuration (1 problem):\n  - log.level: must be one of: fatal, error, warn, info, debug, trace, silent (got "SharedAccessKey=[REDACTED]" from PODBUS_LOG_LEVEL)',
    );
  });
});
