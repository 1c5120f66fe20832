/**
 * Log fixtures: a temp dir, numbered lines, and a rotation done exactly as the process runner
 * does it (shift the copies, copy `<log>` to `<log>.1`, truncate `<log>`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { copyFile, rename, truncate } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogReader, TimedLine } from '../../server/logs/log-reader.js';

/** "line 0\n" ... for numbers from..to-1. */
export function numbered(from: number, to: number, prefix = 'line'): string {
  let text = '';
  for (let i = from; i < to; i++) text += `${prefix} ${i}\n`;
  return text;
}

export function append(path: string, text: string): void {
  appendFileSync(path, text);
}

/** Copy-and-truncate, keeping `keep` copies (like the process runner). */
export async function rotate(logPath: string, keep = 1): Promise<void> {
  for (let i = keep; i >= 2; i--) {
    try {
      await rename(`${logPath}.${i - 1}`, `${logPath}.${i}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (keep >= 1) await copyFile(logPath, `${logPath}.1`);
  await truncate(logPath, 0);
}

/** Everything the reader has now (reads until it returns []). */
export async function readAll(reader: LogReader): Promise<TimedLine[]> {
  const lines: TimedLine[] = [];
  for (let i = 0; i < 10_000; i++) {
    const batch = await reader.read();
    if (batch.length === 0) return lines;
    lines.push(...batch);
  }
  throw new Error('the reader never reached the end');
}

/** Reads (polling every 10 ms) until `done(lines)` holds; fails after `timeoutMs`. */
export async function readUntil(reader: LogReader, done: (lines: TimedLine[]) => boolean, timeoutMs = 5000): Promise<TimedLine[]> {
  const lines: TimedLine[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(lines)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms with ${lines.length} lines, last: ${JSON.stringify(lines.at(-1)?.text)}`);
    const batch = await reader.read();
    lines.push(...batch);
    if (batch.length === 0) await sleep(10);
  }
  return lines;
}

export const texts = (lines: TimedLine[]): string[] => lines.map((l) => l.text);

/**
 * A real workload writing "<prefix> 0" ... "<prefix> count-1" to `logPath` (O_APPEND, like the
 * runner's children), one line every `intervalSeconds`.
 */
export function writer(logPath: string, count: number, options: { intervalSeconds?: number; prefix?: string } = {}): ChildProcess & { done: Promise<void> } {
  const script = `i=0; while [ $i -lt ${count} ]; do echo "${options.prefix ?? 'line'} $i"; i=$((i+1)); sleep ${options.intervalSeconds ?? 0.005}; done >> "$1"`;
  const child = spawn('sh', ['-c', script, 'sh', logPath], { stdio: 'ignore', detached: true });
  const done = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited with ${code}`))));
    child.once('error', reject);
  });
  return Object.assign(child, { done });
}

/** The numbers of "<prefix> N" lines, in order. */
export function sequence(lines: TimedLine[], prefix = 'line'): number[] {
  return lines.map((l) => {
    const m = new RegExp(`^${prefix} (\\d+)$`).exec(l.text);
    if (!m) throw new Error(`unexpected line ${JSON.stringify(l.text)}`);
    return Number(m[1]);
  });
}
