/**
 * The progress of `rune cast --wait`, one line per service: `web   2/3 ready  (1 starting)`.
 * On a terminal (`redraw`) the block is redrawn in place after each change; elsewhere
 * (`lines`) a service's line is printed again only when its counts change, so logs of CI runs
 * read as a history.
 */
import type { RolloutState, ServiceRollout } from '../rollout-state.js';

export type RolloutViewMode = 'redraw' | 'lines';

export class RolloutView {
  private readonly last = new Map<string, string>();
  private drawn = 0;

  constructor(private readonly mode: RolloutViewMode) {}

  /** What to write for `state`: '' when nothing visible changed. */
  render(state: RolloutState): string {
    const names = state.services.map((s) => label(s, state));
    const width = Math.max(...names.map((n) => n.length));
    const lines = state.services.map((s, i) => rolloutLine(s, names[i]!.padEnd(width)));
    const changed = lines.filter((line, i) => this.last.get(names[i]!) !== line);
    lines.forEach((line, i) => this.last.set(names[i]!, line));
    if (changed.length === 0) return '';
    if (this.mode === 'lines') return changed.map((line) => line.trimEnd() + '\n').join('');
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.drawn = lines.length;
    return up + lines.map((line) => `\r\x1b[2K${line.trimEnd()}\n`).join('');
  }
}

/** `web  2/3 ready  (1 starting, 1 old)`, with `name` already padded. */
export function rolloutLine(rollout: ServiceRollout, name: string): string {
  const extra = [rollout.starting > 0 ? `${rollout.starting} starting` : '', rollout.old > 0 ? `${rollout.old} old` : ''].filter(Boolean);
  return `${name}  ${rollout.ready}/${rollout.target.scale} ready${extra.length ? `  (${extra.join(', ')})` : ''}`;
}

/** The service's name, namespace-qualified when the targets span several namespaces. */
function label(rollout: ServiceRollout, state: RolloutState): string {
  const namespaces = new Set(state.services.map((s) => s.target.namespace));
  return namespaces.size > 1 ? `${rollout.target.namespace}/${rollout.target.name}` : rollout.target.name;
}
