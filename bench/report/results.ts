import type { MemoryResult } from '../memory.ts';
import type { RunResult } from '../runs.ts';

/** Everything one `npm run bench` measured: written to a file, rendered into the README. */
export interface BenchResults {
  readonly date: string;
  readonly machine: {
    readonly cpus: number;
    readonly model: string;
    readonly node: string;
    /** 1-minute load average when the bench started (other work on the machine). */
    readonly loadAverageAtStart: number;
  };
  readonly quick: boolean;
  readonly rounds: number;
  readonly runs: readonly RunResult[];
  readonly memory?: MemoryResult;
}
