import type { ResultRouting } from '../policy/result-queue.js';

/**
 * The `results`, `cleanup` and `leaderElection` sections of the configuration: what podbus does
 * when a challenge's pod has ended. Every option is documented in src/config/schema.ts.
 */
export interface ResultsSettings extends ResultRouting {
  /**
   * How long after its creation a pod that is stuck (image pull failing, invalid image name,
   * unschedulable) is reported with that outcome, if it is still stuck then.
   */
  readonly stuckAfterSeconds: number;
  /** Bytes of each container's log tail in a result; 0 = no log tails (needs pods/log). */
  readonly logTailBytes: number;
}

/** `never` turns that deletion off. */
export type Seconds = number | 'never';

export interface CleanupSettings {
  /** Seconds after a pod ended (and its result was sent) before it is deleted. */
  readonly ttlSecondsAfterFinished: Seconds;
  /** Seconds after its creation before a stuck pod is deleted (after its result was sent). */
  readonly stuckPendingSeconds: Seconds;
  /**
   * No pod is deleted before it is this old: a redelivered message finds its pod only while the
   * pod exists (see next-step.ts).
   */
  readonly minimumAgeSeconds: number;
}

/** client-go's leader election parameters, for the one results publisher per cluster. */
export interface LeaderElectionSettings {
  /** Name of the Lease in each cluster entry's namespace. */
  readonly leaseName: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
}
