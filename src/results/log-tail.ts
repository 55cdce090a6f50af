import type { PodLogOptions } from '../clusters/cluster-client.js';
import { errorMessage } from '../shared/error-message.js';
import { scrubText } from '../shared/redaction.js';
import type { ContainerSnapshot } from './pod-snapshot.js';
import { MAX_TEXT_CHARS, type LogTail } from './result-body.js';

/** The log call the keeper makes (ClusterClient.readPodLog). */
export type ReadPodLog = (name: string, options: PodLogOptions) => Promise<string>;

/**
 * The API returns the last TAIL_LINES lines, of which it sends at most READ_LIMIT_BYTES (from
 * their start: `limitBytes` bounds what is read, it does not pick the end); the tail is cut
 * from the end of what arrived. Memory stays bounded whatever a challenge prints.
 */
const TAIL_LINES = 200;
const READ_LIMIT_BYTES = 1024 * 1024;
/** The most log text, over all containers, one result carries (a message holds 256 KB). */
export const MAX_LOG_BYTES_PER_RESULT = 64 * 1024;

/**
 * The last `maxBytes` bytes of `text` (UTF-8), never splitting a character, scrubbed of
 * anything that looks like a secret (the log is the challenge's output, read with podbus's
 * token: a service-account token it printed must not travel on).
 */
export function logTail(text: string, maxBytes: number): LogTail {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { tail: scrubText(text), truncated: false };
  let start = bytes.length - maxBytes;
  // Skip continuation bytes (10xxxxxx) so the tail starts at a character.
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start += 1;
  return { tail: scrubText(bytes.subarray(start).toString('utf8')), truncated: true };
}

/**
 * The log tail of every container that ran, each at most `maxBytes` and all together at most
 * MAX_LOG_BYTES_PER_RESULT; a container whose log cannot be read gets the reason instead.
 */
export async function readLogTails(
  read: ReadPodLog,
  pod: string,
  containers: readonly ContainerSnapshot[],
  maxBytes: number,
  signal: AbortSignal,
): Promise<Map<string, LogTail>> {
  const ran = containers.filter((c) => c.state === 'terminated' || c.state === 'running');
  const perContainer = Math.min(
    maxBytes,
    Math.floor(MAX_LOG_BYTES_PER_RESULT / Math.max(1, ran.length)),
  );
  const tails = new Map<string, LogTail>();
  for (const c of ran) {
    try {
      const text = await read(pod, {
        container: c.name,
        tailLines: TAIL_LINES,
        limitBytes: READ_LIMIT_BYTES,
        signal,
      });
      tails.set(c.name, logTail(text, perContainer));
    } catch (error) {
      tails.set(c.name, { error: scrubText(errorMessage(error)).slice(0, MAX_TEXT_CHARS) });
    }
  }
  return tails;
}
