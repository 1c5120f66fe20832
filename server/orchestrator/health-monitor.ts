/**
 * Runs the liveness and readiness probes of running instances on their schedules and keeps the
 * results in memory. It writes nothing itself: when a result crosses a threshold (ready flips,
 * liveness fails) it calls `onChange(key)`, and the instance controller — the one writer of
 * instance status — reads `state(key)` and acts.
 */
import type { Probe } from '../../shared/gen/rune/v1/service.js';
import { runProbe, type ProbeTarget } from './probes.js';

export interface ProbeState {
  healthy: boolean;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastResult: string;
  lastProbeAt: Date | undefined;
}

export interface HealthState {
  liveness?: ProbeState;
  readiness?: ProbeState;
  /** Liveness failed `failureThreshold` times in a row: the instance must be restarted. */
  livenessFailed: boolean;
}

interface Watched {
  /** The pending timer of each probe. */
  timers: Partial<Record<'liveness' | 'readiness', NodeJS.Timeout>>;
  abort: AbortController;
  state: HealthState;
}

export class HealthMonitor {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly onChange: (key: string) => void) {}

  /** Starts probing `key` (idempotent: an instance already watched is left as it is). */
  watch(key: string, probes: { liveness?: Probe; readiness?: Probe }, target: ProbeTarget): void {
    if (this.watched.has(key)) return;
    const entry: Watched = { timers: {}, abort: new AbortController(), state: { livenessFailed: false } };
    this.watched.set(key, entry);
    for (const kind of ['liveness', 'readiness'] as const) {
      const probe = probes[kind];
      if (!probe?.type) continue;
      // Readiness starts "not ready" until it passes; liveness starts healthy until it fails.
      entry.state[kind] = { healthy: kind === 'liveness', consecutiveFailures: 0, consecutiveSuccesses: 0, lastResult: 'not probed yet', lastProbeAt: undefined };
      const run = async () => {
        if (entry.abort.signal.aborted) return;
        const result = await runProbe(probe, target, { signal: entry.abort.signal }).catch((err: Error) => ({ ok: false, message: err.message }));
        if (entry.abort.signal.aborted) return;
        this.record(key, entry, kind, probe, result);
        schedule(Math.max(1, probe.periodSeconds) * 1000);
      };
      const schedule = (ms: number) => {
        entry.timers[kind] = setTimeout(() => void run(), ms);
        entry.timers[kind].unref();
      };
      schedule(probe.initialDelaySeconds * 1000);
    }
  }

  /** Stops probing `key` and forgets its results. */
  unwatch(key: string): void {
    const entry = this.watched.get(key);
    if (!entry) return;
    entry.abort.abort();
    for (const timer of Object.values(entry.timers)) clearTimeout(timer);
    this.watched.delete(key);
  }

  /** Current probe results of `key`, if it is watched. */
  state(key: string): HealthState | undefined {
    return this.watched.get(key)?.state;
  }

  isWatched(key: string): boolean {
    return this.watched.has(key);
  }

  stop(): void {
    for (const key of [...this.watched.keys()]) this.unwatch(key);
  }

  private record(key: string, entry: Watched, kind: 'liveness' | 'readiness', probe: Probe, result: { ok: boolean; message: string }): void {
    const previous = entry.state[kind]!;
    const next: ProbeState = {
      healthy: previous.healthy,
      consecutiveFailures: result.ok ? 0 : previous.consecutiveFailures + 1,
      consecutiveSuccesses: result.ok ? previous.consecutiveSuccesses + 1 : 0,
      lastResult: result.message,
      lastProbeAt: new Date(),
    };
    if (result.ok && next.consecutiveSuccesses >= Math.max(1, probe.successThreshold)) next.healthy = true;
    if (!result.ok && next.consecutiveFailures >= Math.max(1, probe.failureThreshold)) next.healthy = false;
    entry.state[kind] = next;
    const flipped = next.healthy !== previous.healthy;
    if (kind === 'liveness' && !next.healthy && !entry.state.livenessFailed) {
      entry.state.livenessFailed = true;
      this.onChange(key);
    } else if (flipped || (!result.ok && previous.consecutiveFailures === 0)) {
      this.onChange(key);
    }
  }
}
