/**
 * Turns scenario samples into the published figures and writes them: `results.json` (everything,
 * samples included, machine-readable) and `results.md` (the table the README quotes).
 *
 * Per figure: median (and p99 for latency figures) of each side; the ratio runed/reference
 * computed pair by pair (repetition i with repetition i), then its median; the goal is met when
 * that median ratio is at most the goal's bound.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine } from './machine.js';
import type { Figure, Mode } from './scenario.js';
import { median, p99, pairwiseRatios } from './stats.js';

export interface FigureResult {
  label: string;
  unit: Figure['unit'];
  repetitions: number;
  runed?: { median: number; p99?: number; samples: number[] };
  reference?: { name: string; median: number; p99?: number; samples: number[] };
  /** Median of the pairwise runed/reference ratios. */
  ratio?: number;
  ratios?: number[];
  speedup?: boolean;
  goal?: { text: string; maxRatio?: number; maxMedian?: number; met: boolean };
}

export interface ScenarioOutcome {
  name: string;
  title: string;
  issue?: number;
  status: 'ok' | 'failed';
  error?: string;
  seconds: number;
  figures: FigureResult[];
  notes: string[];
  /** Repetitions that failed once and were run again, with why. */
  retried: string[];
  details?: Record<string, unknown>;
}

export interface Results {
  schema: 1;
  mode: Mode;
  repetitions: number;
  machine: Machine;
  build: string;
  wallSeconds: number;
  /** 1-minute load average when the run ended. */
  loadAverageAtEnd: number;
  scenarios: ScenarioOutcome[];
}

export function summarize(figure: Figure): FigureResult {
  const side = (samples: number[]) => ({ median: median(samples), ...(figure.latency ? { p99: p99(samples) } : {}), samples });
  const result: FigureResult = { label: figure.label, unit: figure.unit, repetitions: Math.max(figure.runed?.length ?? 0, figure.reference?.samples.length ?? 0) };
  if (figure.runed) result.runed = side(figure.runed);
  if (figure.reference) result.reference = { name: figure.reference.name, ...side(figure.reference.samples) };
  // A ratio over a reference that measured zero (an idle daemon's CPU) means nothing: none is given.
  if (figure.runed && figure.reference && figure.reference.samples.every((v) => v > 0)) {
    result.ratios = pairwiseRatios(figure.runed, figure.reference.samples);
    result.ratio = median(result.ratios.filter(Number.isFinite));
    if (figure.speedup) result.speedup = true;
  }
  const goal = figure.goal;
  if (goal && (goal.maxRatio === undefined || result.ratio !== undefined) && (goal.maxMedian === undefined || result.runed)) {
    const ratioMet = goal.maxRatio === undefined || (Number.isFinite(result.ratio) && result.ratio! <= goal.maxRatio);
    const medianMet = goal.maxMedian === undefined || (Number.isFinite(result.runed!.median) && result.runed!.median <= goal.maxMedian);
    result.goal = { text: goal.text, ...(goal.maxRatio !== undefined ? { maxRatio: goal.maxRatio } : {}), ...(goal.maxMedian !== undefined ? { maxMedian: goal.maxMedian } : {}), met: ratioMet && medianMet };
  }
  return result;
}

function number(value: number, unit: Figure['unit']): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === 'ms') return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  if (unit === 'MB') return value.toFixed(1);
  return value.toFixed(2);
}

function cell(side: { median: number; p99?: number } | undefined, unit: Figure['unit'], name?: string): string {
  if (!side) return '—';
  const p = side.p99 !== undefined ? ` (p99 ${number(side.p99, unit)})` : '';
  return `${name ? `${name}: ` : ''}${number(side.median, unit)} ${unit}${p}`;
}

function ratioCell(figure: FigureResult): string {
  if (figure.ratio === undefined || !Number.isFinite(figure.ratio)) return '—';
  const digits = figure.ratio < 0.1 ? 3 : 2;
  const speed = figure.speedup && figure.ratio > 0 ? ` (runed ${(1 / figure.ratio).toFixed(1)}× faster)` : '';
  return `${figure.ratio.toFixed(digits)}×${speed}`;
}

export function renderMarkdown(results: Results): string {
  const m = results.machine;
  const lines: string[] = [];
  lines.push(`# Rune benchmark (${results.mode} run)`);
  lines.push('');
  lines.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, kernel ${m.kernel}; Node ${m.node}; pm2 ${m.pm2}. ` +
      `Date ${m.date}; tree ${m.git ? `${m.git.commit}${m.git.dirty ? ' (with uncommitted changes)' : ''}` : 'unknown'}; runed from dist/ (${results.build}). ` +
      `${results.repetitions} repetitions per figure; the whole run took ${results.wallSeconds.toFixed(0)} s. Everything on 127.0.0.1.`,
  );
  lines.push('');
  const busy = Math.max(m.loadAverageAtStart, results.loadAverageAtEnd) > m.cpus * 0.5;
  lines.push(`Load average (1 min) at start ${m.loadAverageAtStart}, at end ${results.loadAverageAtEnd}${busy ? ': **the machine was busy with other work; absolute figures are inflated and noisy, pairwise ratios less so**' : ''}.`);
  lines.push('');
  lines.push(`Every child process ran with ${Object.keys(m.childEnvDropped).map((v) => `\`${v}\``).join(' and ')} unset (${Object.values(m.childEnvDropped).join('; ')}).`);
  lines.push('');
  lines.push('| scenario | runed median | reference median | ratio runed/reference | goal | met |');
  lines.push('|---|---|---|---|---|---|');
  for (const scenario of results.scenarios) {
    const title = `${scenario.issue ? `${scenario.issue}. ` : ''}${scenario.title}`;
    if (scenario.status === 'failed') {
      lines.push(`| ${title} | failed: ${scenario.error?.split('\n')[0]?.replace(/\|/g, '\\|') ?? 'unknown error'} | | | | no |`);
    }
    for (const figure of scenario.figures) {
      const goal = figure.goal ? figure.goal.text : '—';
      const met = figure.goal ? (figure.goal.met ? 'yes' : '**no**') : '—';
      lines.push(`| ${title} — ${figure.label} | ${cell(figure.runed, figure.unit)} | ${cell(figure.reference, figure.unit, figure.reference?.name)} | ${ratioCell(figure)} | ${goal} | ${met} |`);
    }
  }
  const missed = results.scenarios.flatMap((s) => s.figures.filter((f) => f.goal && !f.goal.met).map((f) => `${s.title} — ${f.label}`));
  lines.push('');
  lines.push(missed.length === 0 ? 'Every goal measured in this run was met.' : `Goals not met in this run: ${missed.join('; ')}.`);
  lines.push('');
  lines.push('Ratios are runed/reference computed pair by pair (repetition i of runed over repetition i of the reference), then the median of those ratios; below 1 means runed is faster or smaller. p99 is by nearest rank: with fewer than 100 samples it is the largest.');
  lines.push('');
  lines.push('## How each figure was measured');
  lines.push('');
  for (const scenario of results.scenarios) for (const note of scenario.notes) lines.push(`- ${note}`);
  const retried = results.scenarios.flatMap((s) => s.retried.map((r) => `${s.name} ${r}`));
  if (retried.length > 0) {
    lines.push('');
    lines.push(`Repetitions run again after a failure (their first attempt left no sample): ${retried.join('; ')}.`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Writes results.json and results.md under `dir`; returns their paths. */
export function writeResults(dir: string, results: Results): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'results.json');
  const markdown = join(dir, 'results.md');
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(markdown, renderMarkdown(results));
  return { json, markdown };
}
