/**
 * The contract between the harness (run.ts) and a scenario. A scenario measures, it does not
 * report: it returns figures (raw samples, one per repetition, for runed and its reference) and
 * the harness computes medians, p99, pairwise ratios and goals, and writes the files.
 *
 * Adding a scenario: one file under scenarios/ exporting a `Scenario`, listed in
 * scenarios/index.ts. Tag every process you start with `ctx.tag` (lib/cleanup.ts `childEnv`),
 * bound every wait by count and time (lib/wait.ts), and clean up in `finally`; the harness
 * sweeps the tag again after the scenario, even when it threw.
 */

export type Mode = 'full' | 'quick';

export interface Goal {
  /** The goal holds when the median of runed/reference ratios is at most this. */
  maxRatio?: number;
  /**
   * An absolute bound, in the figure's unit, on runed's median (issue 7's "ready in < 5 s",
   * "under 5 ms server time"); with `maxRatio` too, both must hold. A figure with only this
   * needs no reference.
   */
  maxMedian?: number;
  /** As the table shows it, e.g. "≤ 2× floor". */
  text: string;
}

/** One row of the table: runed against one reference, one sample per repetition on each side. */
export interface Figure {
  /** What is measured, e.g. "N=100 vs pm2 (daemon running)". */
  label: string;
  unit: 'ms' | 'MB' | '%';
  /** runed's samples; absent for a row that only measures the machine (spawn floor). */
  runed?: number[];
  reference?: { name: string; samples: number[] };
  /** A latency figure: the table quotes p99 beside the median. */
  latency?: boolean;
  /** Absent: reported, no goal. */
  goal?: Goal;
  /** Render the ratio as a speedup as well ("runed 12× faster"). */
  speedup?: boolean;
}

export interface ScenarioResult {
  figures: Figure[];
  /** Method notes the report prints under the table (what was timed, from when to when). */
  notes?: string[];
  /** Repetitions that failed once and were run again, with why (lib/repeat.ts). */
  retried?: string[];
  /** Anything else worth keeping in results.json (client CPU, peaks, per-rep details). */
  details?: Record<string, unknown>;
}

export interface ScenarioContext {
  mode: Mode;
  /** Repetitions per figure (≥ 5 in a full run). */
  reps: number;
  /** Tag for every process this scenario starts (lib/cleanup.ts); sub-tags go under it. */
  tag: string;
  /** A temp dir of this scenario's own, removed afterwards. */
  dir: string;
  /** Epoch ms by which the scenario must be done; waits use it as an upper bound. */
  deadline: number;
  /** Where a runed started with a CPU profile writes it (--cpu-prof); undefined: no profile. */
  cpuProfileDir: string | undefined;
  log(message: string): void;
}

export interface Scenario {
  /** The --only name, kebab-case. */
  name: string;
  /** The row title in the table. */
  title: string;
  /** Scenario number in issue 7, when it has one. */
  issue?: number;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
