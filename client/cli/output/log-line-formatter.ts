/**
 * How `rune logs` prints a line: `[instance] ` in front when the lines come from several
 * instances (like `docker compose logs`), the RFC 3339 time with --timestamps, then the text.
 *
 *   [web-7f3k2] 2025-01-01T12:00:00.000Z listening on :8080
 *
 * Prefix modes: `always` and `never` are fixed (--prefix / --no-prefix); `auto` prints no
 * prefix while every line has come from one instance and prefixes every line from the first
 * line of a second instance on (a service scaled up or restarted while following).
 */
import { LogLine } from '../../../shared/gen/rune/v1/log_service.js';
import { paint, type Colour } from '../style.js';

export const PREFIX_MODES = ['always', 'never', 'auto'] as const;
export type PrefixMode = (typeof PREFIX_MODES)[number];

export interface LogFormatOptions {
  prefix: PrefixMode;
  /** Put the line's time (RFC 3339, UTC) before the text. */
  timestamps: boolean;
  /** Colour each instance's prefix (one colour per instance, in order of appearance). */
  color?: boolean;
  /** `json`: one LogLine as proto3 JSON per line instead of text. */
  json?: boolean;
}

const PALETTE: readonly Colour[] = ['cyan', 'yellow', 'green', 'magenta', 'blue'];

export class LogLineFormatter {
  private readonly instances: string[] = [];
  private prefixing: boolean;

  constructor(private readonly options: LogFormatOptions) {
    this.prefixing = options.prefix === 'always';
  }

  /** The printed form of `line`, ending in a newline. */
  format(line: LogLine): string {
    if (this.options.json) return JSON.stringify(LogLine.toJSON(line)) + '\n';
    let index = this.instances.indexOf(line.instance);
    if (index === -1) index = this.instances.push(line.instance) - 1;
    if (this.options.prefix === 'auto' && this.instances.length > 1) this.prefixing = true;
    const prefix = this.prefixing ? paint(this.options.color === true, PALETTE[index % PALETTE.length]!, `[${line.instance}]`) + ' ' : '';
    const time = this.options.timestamps ? `${line.time ? line.time.toISOString() : '-'} ` : '';
    return `${prefix}${time}${line.text}\n`;
  }
}
