import { ClusterClient } from '../clusters/cluster-client.js';
import type { ClusterEntry } from '../clusters/cluster-entry.js';
import { ClusterError } from '../clusters/errors.js';
import { loadServiceBusAndClusterSettings } from '../config/load-config.js';
import { problemFor } from './clusters-actions.js';
import { commandSources, configOrUsageError } from './config-sources.js';
import { countWord } from './enqueue-actions.js';
import { CliUsageError, EXIT } from './exit-codes.js';
import { cliIo, err, out } from './io.js';
import { describeServiceBusError, serviceBusClient } from './service-bus-target.js';
import type { ChallengeStatus } from './status/challenge-status.js';
import type { StatusClusterClient } from './status/cluster-search.js';
import { findChallenges, type FindOptions } from './status/find-challenges.js';
import { followChallenges } from './status/follow.js';
import { searchServiceBus } from './status/queue-search.js';
import { statusText, type RenderOptions } from './status/render.js';
import { WatchPrinter } from './status/watch-printer.js';
import { onStopSignals } from './signals.js';
import { DEFAULT_PEEK_LIMIT, DEFAULT_TIMEOUT_SECONDS } from './status-command.js';

export interface StatusFlags {
  config?: string;
  queue?: string;
  clustersFile?: string;
  json?: boolean;
  watch?: boolean;
  peekLimit?: string;
  timeout?: string;
}

const MAX_PEEK_LIMIT = 100_000;
/** How often --watch searches the queues again while a challenge has no pod yet. */
const WATCH_RECHECK_MS = 5_000;

/** Found somewhere (queue, dead-letter queue or a cluster): the answer is known. */
const FOUND_NOWHERE = new Set(['not-found', 'unknown']);

export async function runStatus(ids: string[], flags: StatusFlags): Promise<number> {
  const wanted = [...new Set(ids)];
  if (wanted.some((id) => id === '')) throw new CliUsageError('a message ID cannot be empty');
  const peekLimit =
    wholeNumber('--peek-limit', flags.peekLimit, 1, MAX_PEEK_LIMIT) ?? DEFAULT_PEEK_LIMIT;
  const timeoutSeconds =
    wholeNumber('--timeout', flags.timeout, 1, 3600) ?? DEFAULT_TIMEOUT_SECONDS;
  if (flags.clustersFile?.trim() === '')
    throw new CliUsageError('--clusters-file needs a file path');
  const settings = configOrUsageError(() =>
    loadServiceBusAndClusterSettings(
      commandSources(flags.config, cliIo().env, [
        { path: 'serviceBus.queueName', flag: '--queue', value: flags.queue },
        { path: 'clustersFile', flag: '--clusters-file', value: flags.clustersFile },
      ]),
    ),
  );
  const queue = settings.serviceBus.queueName;
  const serviceBus = serviceBusClient(settings.serviceBus);
  // Awaited by each search, which reports a client that cannot be made; never left unhandled.
  serviceBus.catch(() => undefined);
  const clusters = settings.clusters.entries.map((entry) =>
    statusClient(entry, timeoutSeconds * 1000),
  );
  const find: FindOptions = {
    searchServiceBus: (some) =>
      searchServiceBus(some, {
        client: serviceBus,
        queue,
        limit: peekLimit,
        describeError: (error) => describeServiceBusError(error, settings.serviceBus),
      }),
    clusters,
    describeProblem: problemFor,
    now: Date.now,
  };
  const render = (): RenderOptions => {
    const stdout = cliIo().stdout;
    return {
      queue,
      now: Date.now(),
      ...(stdout.isTTY && { maxWidth: stdout.columns ?? 120 }),
    };
  };
  try {
    const statuses = flags.watch
      ? await watch(wanted, find, flags.json === true, render)
      : await findChallenges(wanted, find);
    if (!flags.watch) {
      if (flags.json) out(JSON.stringify(statuses, null, 2));
      else cliIo().stdout.write(statuses.map((s) => statusText(s, render())).join('\n'));
    }
    return summarize(statuses);
  } finally {
    await Promise.allSettled([
      serviceBus.then((client) => client.close()),
      ...clusters.map((c) => c.close()),
    ]);
  }
}

/** --watch: prints as the challenges move on, until each has ended or a signal stops it. */
async function watch(
  ids: readonly string[],
  find: FindOptions,
  json: boolean,
  render: () => RenderOptions,
): Promise<ChallengeStatus[]> {
  const printer = new WatchPrinter((text) => cliIo().stdout.write(text), { json, render });
  const signals = onStopSignals();
  const stop = new AbortController();
  void signals.stopped.then(() => stop.abort());
  try {
    return await followChallenges(ids, {
      ...find,
      recheckMs: WATCH_RECHECK_MS,
      signal: stop.signal,
      onStatus: (status, ended) => printer.print(status, ended),
    });
  } finally {
    signals.dispose();
  }
}

/** The summary on stderr, and the exit code: 1 when a challenge was not found everywhere. */
function summarize(statuses: readonly ChallengeStatus[]): number {
  const missing = statuses.filter((s) => FOUND_NOWHERE.has(s.state));
  if (missing.length === 0) return EXIT.ok;
  const notFound = missing.filter((s) => s.state === 'not-found').length;
  const unknown = missing.length - notFound;
  err(
    [
      notFound > 0 && `${countWord(notFound, 'challenge')} not found`,
      unknown > 0 && `${countWord(unknown, 'challenge')} not found where podbus could look`,
    ]
      .filter(Boolean)
      .join('; '),
  );
  return EXIT.failure;
}

/**
 * The worker's cluster client, for a short command: two attempts, a short timeout. An entry
 * whose client cannot even be built (an unreadable token file) becomes a client whose every call
 * fails with that error, so the cluster is reported as one that cannot be asked.
 */
function statusClient(entry: ClusterEntry, timeoutMs: number): StatusClusterClient {
  try {
    return new ClusterClient({
      entry,
      requestTimeoutMs: timeoutMs,
      retry: { maxAttempts: 2, backoff: { baseMs: 100, maxMs: 500, jitter: 'full' } },
    });
  } catch (error) {
    const fail = async (): Promise<never> => {
      throw error instanceof ClusterError
        ? error
        : new ClusterError({ kind: 'config', cluster: entry.name, message: String(error) });
    };
    return {
      name: entry.name,
      namespace: entry.namespace,
      entry,
      getPod: fail,
      listPods: fail,
      listPodEvents: fail,
      watchPods: fail,
      close: async () => undefined,
    };
  }
}

function wholeNumber(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new CliUsageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}
