/**
 * `npm run bench`: runs the benchmark scenarios (scenarios/index.ts) against the built runed and
 * their references, then writes `.bench/results.json` and `.bench/results.md`.
 *
 *   npm run bench                         the default suite (≥ 5 repetitions per figure)
 *   npm run bench -- --quick              smoke run: 1 repetition, small N; checks every scenario runs
 *   npm run bench -- --only restart-latency[,workload-start]
 *   npm run bench -- --cpu-prof           runed runs under node --cpu-prof; profiles in .bench/profiles
 *
 * Exit codes: 0 every selected scenario ran (goals met or not: the figures are reported either
 * way); 1 a scenario failed, left processes behind, or the run hit its time limit; 2 bad usage.
 *
 * Every process started carries the run's tag (lib/cleanup.ts); after each scenario, on a
 * failure, on SIGINT/SIGTERM and at exit, everything tagged is killed with its process group.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt, repoRoot } from './lib/build.js';
import { killTagged, killTaggedNow, taggedPids } from './lib/cleanup.js';
import { describeMachine } from './lib/machine.js';
import { renderMarkdown, summarize, writeResults, type Results, type ScenarioOutcome } from './lib/report.js';
import type { Mode } from './lib/scenario.js';
import { scenarios } from './scenarios/index.js';

const USAGE = `Usage: npm run bench -- [--quick] [--only NAME[,NAME...]] [--reps N] [--out DIR] [--cpu-prof] [--keep]

Runs runed's benchmarks beside their references (spawn floor, pm2) on 127.0.0.1 and writes
DIR/results.json and DIR/results.md (DIR defaults to .bench).

  --quick      smoke run (< 2 min): 1 repetition, small N; checks that every scenario runs
  --only       run only these scenarios: ${scenarios.map((s) => s.name).join(', ')}
  --reps N     repetitions per figure (default 5; 1 with --quick)
  --out DIR    where results go (default .bench)
  --cpu-prof   run runed under node --cpu-prof; .cpuprofile files go to DIR/profiles
  --keep       keep each scenario's temp dir (runed data dirs, logs, PM2_HOME)

Example: npm run bench -- --only workload-start --reps 3

Exit codes: 0 all selected scenarios ran (goals met or not), 1 a scenario failed or the run
timed out, 2 bad usage.`;

/** Hard limits of a whole run; past them the harness cleans up and exits 1. */
const RUN_LIMIT_MS: Record<Mode, number> = { full: 20 * 60_000, quick: 4 * 60_000 };

function parse() {
  try {
    const { values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true },
        reps: { type: 'string' },
        out: { type: 'string', default: '.bench' },
        'cpu-prof': { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    return values;
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
}

async function main(): Promise<number> {
  const args = parse();
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const mode: Mode = args.quick ? 'quick' : 'full';
  const reps = args.reps !== undefined ? Number(args.reps) : mode === 'quick' ? 1 : 5;
  if (!Number.isInteger(reps) || reps < 1 || reps > 50) {
    process.stderr.write(`bench: --reps must be a whole number from 1 to 50, not "${args.reps}"\n`);
    return 2;
  }
  const wanted = (args.only ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const unknown = wanted.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`bench: no scenario named ${unknown.join(', ')}; choose from ${scenarios.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const selected = wanted.length > 0 ? scenarios.filter((s) => wanted.includes(s.name)) : scenarios;
  const outDir = isAbsolute(args.out) ? args.out : join(repoRoot, args.out);
  const cpuProfileDir = args['cpu-prof'] ? join(outDir, 'profiles') : undefined;

  const runId = `bench-${process.pid}-${Date.now().toString(36)}`;
  const log = (scope: string, message: string) => process.stderr.write(`[${scope}] ${message}\n`);
  // Whatever happens, nothing tagged with this run outlives it.
  process.on('exit', () => killTaggedNow(runId));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log('bench', `${signal}: killing every process this run started`);
      killTaggedNow(runId);
      process.exit(130);
    });
  }
  const started = performance.now();
  const runDeadline = Date.now() + RUN_LIMIT_MS[mode];
  const limit = setTimeout(() => {
    log('bench', `the run passed its limit of ${RUN_LIMIT_MS[mode] / 60_000} min: stopping`);
    killTaggedNow(runId);
    process.exit(1);
  }, RUN_LIMIT_MS[mode]);
  limit.unref();

  const machine = describeMachine();
  log('bench', `${mode} run, ${reps} repetition(s), scenarios: ${selected.map((s) => s.name).join(', ')}; children run without NODE_EXTRA_CA_CERTS and NODE_OPTIONS`);
  const build = selected.some((s) => s.name !== 'spawn-floor') ? ensureBuilt((m) => log('build', m)) : 'not needed';

  const outcomes: ScenarioOutcome[] = [];
  for (const scenario of selected) {
    const tag = `${runId}/${scenario.name}`;
    const dir = mkdtempSync(join(tmpdir(), `rune-bench-${scenario.name}-`));
    const t0 = performance.now();
    const outcome: ScenarioOutcome = { name: scenario.name, title: scenario.title, ...(scenario.issue ? { issue: scenario.issue } : {}), status: 'ok', seconds: 0, figures: [], notes: [], retried: [] };
    log(scenario.name, 'start');
    try {
      const result = await scenario.run({ mode, reps, tag, dir, deadline: runDeadline, cpuProfileDir, log: (m) => log(scenario.name, m) });
      outcome.figures = result.figures.map(summarize);
      outcome.notes = result.notes ?? [];
      outcome.retried = result.retried ?? [];
      if (result.details) outcome.details = result.details;
    } catch (err) {
      outcome.status = 'failed';
      outcome.error = (err as Error).stack ?? String(err);
      log(scenario.name, `FAILED: ${(err as Error).message}`);
    }
    const { killed, left } = await killTagged(tag);
    if (killed > 0) log(scenario.name, `cleanup killed ${killed} leftover process(es)`);
    if (left.length > 0) {
      outcome.status = 'failed';
      outcome.error = `${left.length} processes survived cleanup: ${left.slice(0, 10).join(', ')}`;
    }
    outcome.seconds = (performance.now() - t0) / 1000;
    if (args.keep || outcome.status === 'failed') log(scenario.name, `its files are in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    log(scenario.name, `${outcome.status} in ${outcome.seconds.toFixed(1)} s`);
    outcomes.push(outcome);
  }

  const results: Results = { schema: 1, mode, repetitions: reps, machine, build, wallSeconds: (performance.now() - started) / 1000, loadAverageAtEnd: Math.round(loadavg()[0]! * 100) / 100, scenarios: outcomes };
  const files = writeResults(outDir, results);
  process.stdout.write(`${renderMarkdown(results)}\n`);
  log('bench', `wrote ${relative(process.cwd(), files.json)} and ${relative(process.cwd(), files.markdown)} in ${results.wallSeconds.toFixed(1)} s`);
  if (cpuProfileDir) log('bench', `runed CPU profiles: ${relative(process.cwd(), cpuProfileDir)}`);
  const stray = taggedPids(runId);
  if (stray.length > 0) {
    log('bench', `${stray.length} tagged processes still alive at the end: ${stray.slice(0, 10).join(', ')}`);
    return 1;
  }
  return outcomes.every((o) => o.status === 'ok') ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
