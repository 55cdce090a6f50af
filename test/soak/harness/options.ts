import { DEFAULT_SETTINGS, type SoakSettings } from './stack.js';

export interface SoakOptions {
  readonly messages: number;
  readonly seed: number | undefined;
  readonly replicas: number;
  readonly clusters: number;
  /** Seconds over which the messages are sent and the chaos runs. */
  readonly durationSeconds: number;
  /** Chaos events per minute (0: none; the background 5xx and ambiguous writes still run). */
  readonly chaosPerMinute: number;
  /** How long the queue may take to drain once the chaos is over. */
  readonly drainTimeoutSeconds: number;
  /** Run the replicas from dist/ (`npm run build` first) instead of the TypeScript sources. */
  readonly fromDist: boolean;
  /** Keep the run directory (config, replica logs, chaos timeline) even when the run passes. */
  readonly keep: boolean;
  readonly settings: SoakSettings;
}

export const USAGE = `npm run soak -- [options]

  --messages N         messages to send (default 10000)
  --seed S             replay a run (default: random, always printed)
  --replicas R         podbus run processes (default 3)
  --clusters C         Kubernetes emulator clusters (default 3)
  --duration SECONDS   send the messages and run the chaos over this long (default N / 50)
  --chaos PER_MINUTE   chaos events per minute (default 20; 0 for none)
  --drain-timeout S    how long the queue may take to drain after the chaos (default 300)
  --strategy NAME      podbus selection strategy (default least-loaded)
  --no-duplicate-detection
                       run the queue without duplicate detection: copies of one sent message
                       then race, which the README says podbus alone cannot stop
  --dist               run the replicas from dist/ (build first) instead of the sources
  --keep               keep the run directory (logs, config, chaos timeline) after a pass
`;

export class SoakUsageError extends Error {}

export function parseSoakOptions(argv: readonly string[]): SoakOptions {
  const args = [...argv];
  const take = (flag: string): string => {
    const value = args.shift();
    if (value === undefined || value.startsWith('--'))
      throw new SoakUsageError(`${flag} needs a value`);
    return value;
  };
  const whole = (flag: string, min: number): number => {
    const text = take(flag);
    const n = Number(text);
    if (!Number.isInteger(n) || n < min)
      throw new SoakUsageError(`${flag} must be a whole number of at least ${min}, got "${text}"`);
    return n;
  };
  let messages = 10_000;
  let seed: number | undefined;
  let replicas = 3;
  let clusters = 3;
  let durationSeconds: number | undefined;
  let chaosPerMinute = 20;
  let drainTimeoutSeconds = 300;
  let fromDist = false;
  let keep = false;
  let settings = DEFAULT_SETTINGS;
  while (args.length > 0) {
    const flag = args.shift()!;
    switch (flag) {
      case '--messages':
        messages = whole(flag, 1);
        break;
      case '--seed':
        seed = whole(flag, 0);
        break;
      case '--replicas':
        replicas = whole(flag, 1);
        break;
      case '--clusters':
        clusters = whole(flag, 1);
        break;
      case '--duration':
        durationSeconds = whole(flag, 1);
        break;
      case '--chaos':
        chaosPerMinute = whole(flag, 0);
        break;
      case '--drain-timeout':
        drainTimeoutSeconds = whole(flag, 1);
        break;
      case '--strategy': {
        const strategy = take(flag);
        if (!['least-loaded', 'round-robin', 'weighted', 'hash'].includes(strategy))
          throw new SoakUsageError(
            `--strategy must be least-loaded, round-robin, weighted or hash, got "${strategy}"`,
          );
        settings = { ...settings, strategy: strategy as SoakSettings['strategy'] };
        break;
      }
      case '--no-duplicate-detection':
        settings = { ...settings, duplicateDetection: false };
        break;
      case '--dist':
        fromDist = true;
        break;
      case '--keep':
        keep = true;
        break;
      default:
        throw new SoakUsageError(`unknown option ${flag}`);
    }
  }
  return {
    messages,
    seed,
    replicas,
    clusters,
    durationSeconds: durationSeconds ?? Math.max(20, Math.ceil(messages / 50)),
    chaosPerMinute,
    drainTimeoutSeconds,
    fromDist,
    keep,
    settings,
  };
}
