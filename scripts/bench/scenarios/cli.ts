/**
 * Scenario 8: CLI start. `rune --version` and `rune get services` (3 and 3,000 items) against
 * `node -e 0` and `etcdctl get --prefix` over the same number of keys, as whole processes from
 * spawn to exit. Timed by hyperfine (Debian's; `-N`, no shell), all commands of a repetition in
 * one hyperfine run, each repetition's sample the median of its runs; without hyperfine, by a
 * spawn loop in this process. Goals: --version ≤ 1.5× `node -e 0`; get (3 items) ≤ 2.5×.
 *
 * Every command runs without NODE_EXTRA_CA_CERTS (this image sets it; ~80 ms per Node start).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/build.js';
import { childEnv } from '../lib/cleanup.js';
import { repeat } from '../lib/repeat.js';
import type { Figure, Scenario, ScenarioContext } from '../lib/scenario.js';
import { median } from '../lib/stats.js';
import { benchService, castBody, checkRun, etcdKey, putBody, startSides } from '../lib/store-sides.js';
import { ETCD, RUNED } from '../lib/wire.js';

/** What `npm i -g` / `npx rune` runs: package.json's bin (a tiny CommonJS entry that loads the bundled CLI). */
const runeEntry = join(repoRoot, (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: { rune: string } }).bin.rune);

function which(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

interface Command {
  key: string;
  argv: string[];
  /** Exit codes accepted besides 0 (the figure then times that answer; the notes say so). */
  alsoAccept?: number[];
}

const accepted = (command: Command, code: number | null) => code === 0 || (code !== null && (command.alsoAccept ?? []).includes(code));

/** Median ms per command over `runs` runs (after `warmup`), with hyperfine or a spawn loop. */
function time(commands: Command[], options: { runs: number; warmup: number; env: NodeJS.ProcessEnv; dir: string; hyperfine: string | undefined }): Record<string, number> {
  const out: Record<string, number> = {};
  if (options.hyperfine) {
    const json = join(options.dir, `hyperfine-${Date.now()}.json`);
    const args = ['-N', '-i', '--runs', String(options.runs), '--warmup', String(options.warmup), '--export-json', json, '--style', 'none', ...commands.map((c) => c.argv.join(' '))];
    const result = spawnSync(options.hyperfine, args, { env: options.env, encoding: 'utf8', timeout: 300_000 });
    if (result.status !== 0) throw new Error(`hyperfine exited ${result.status ?? result.signal}: ${(result.stderr ?? '').slice(-2000)}`);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { results: { command: string; median: number; exit_codes: number[] }[] };
    report.results.forEach((r, i) => {
      if (!r.exit_codes.every((code) => accepted(commands[i]!, code))) throw new Error(`${r.command} exited with ${r.exit_codes.join(',')}`);
      out[commands[i]!.key] = r.median * 1000;
    });
    return out;
  }
  for (const command of commands) {
    const samples: number[] = [];
    for (let i = 0; i < options.warmup + options.runs; i++) {
      const t0 = performance.now();
      const result = spawnSync(command.argv[0]!, command.argv.slice(1), { env: options.env, stdio: 'ignore', timeout: 60_000 });
      if (!accepted(command, result.status)) throw new Error(`${command.argv.join(' ')} exited with ${result.status ?? result.signal}`);
      if (i >= options.warmup) samples.push(performance.now() - t0);
    }
    out[command.key] = median(samples);
  }
  return out;
}

export const cli: Scenario = {
  name: 'cli',
  title: 'CLI start — whole process, spawn to exit',
  issue: 8,
  async run(ctx: ScenarioContext) {
    const quick = ctx.mode === 'quick';
    const etcdctl = which('etcdctl');
    if (!etcdctl) throw new Error('etcdctl is not installed: apt-get install -y etcd-client (.ci/run does it)');
    const hyperfine = which('hyperfine');
    const sizes = { small: 3, big: 3000 };
    const sides = await startSides(ctx, { drivers: 1, namespaces: ['small', 'big'] });
    const { runed, etcd, pool } = sides;
    try {
      for (const [namespace, count] of Object.entries(sizes)) {
        const services = Array.from({ length: count }, (_, k) => benchService(namespace, `svc-${String(k).padStart(4, '0')}`, 0));
        const seed = { calls: count, concurrency: 64, timeoutMs: 60_000 };
        checkRun('runed seed', await pool.unary({ ...seed, target: runed.grpcAddr, path: RUNED.cast, metadata: sides.runedMd, bodies: services.map(castBody) }));
        checkRun('etcd seed', await pool.unary({ ...seed, target: etcd.clientAddr, path: ETCD.put, bodies: services.map(putBody) }));
      }
      const home = join(ctx.dir, 'cli-home');
      mkdirSync(home, { recursive: true });
      // A fresh HOME (no contexts of the user's), the server and token from the environment.
      const env = childEnv(`${ctx.tag}/cli`, { HOME: home, RUNE_SERVER: runed.grpcAddr, RUNE_TOKEN: runed.token, ETCDCTL_API: '3', NO_COLOR: '1' });
      const node = process.execPath;
      const etcdArgs = [etcdctl, '--endpoints', `http://${etcd.clientAddr}`, 'get', '--prefix'];
      const commands: Command[] = [
        { key: 'node', argv: [node, '-e', '0'] },
        { key: 'version', argv: [node, runeEntry, '--version'] },
        { key: 'versionCmd', argv: [node, runeEntry, 'version'] },
        { key: 'getSmall', argv: [node, runeEntry, 'get', 'services', '-n', 'small'] },
        { key: 'getBig', argv: [node, runeEntry, 'get', 'services', '-n', 'big'] },
        { key: 'etcdSmall', argv: [...etcdArgs, etcdKey('small', '')] },
        { key: 'etcdBig', argv: [...etcdArgs, etcdKey('big', '')] },
      ];
      const version = spawnSync(node, [runeEntry, '--version'], { env, encoding: 'utf8', timeout: 60_000 });
      if (version.status !== 0 || !/^rune \S+\n$/.test(version.stdout ?? '')) throw new Error(`rune --version exited ${version.status} printing ${JSON.stringify(version.stdout)}: ${(version.stderr ?? '').slice(0, 500)}`);
      // Check once that every command works and lists what it should.
      const listed = spawnSync(node, [runeEntry, 'get', 'services', '-n', 'big', '-o', 'name'], { env, encoding: 'utf8', timeout: 60_000 });
      const lines = (listed.stdout ?? '').trim().split('\n').filter(Boolean).length;
      if (listed.status !== 0 || lines !== sizes.big) throw new Error(`rune get services -n big listed ${lines} lines (exit ${listed.status}): ${(listed.stderr ?? '').slice(0, 500)}`);
      const runs = quick ? 3 : 5;
      const samples: Record<string, number[]> = Object.fromEntries(commands.map((c) => [c.key, []]));
      const retried = await repeat(ctx, async (rep) => {
        const got = time(commands, { runs, warmup: 1, env, dir: ctx.dir, hyperfine });
        for (const c of commands) samples[c.key]!.push(got[c.key]!);
        ctx.log(`rep ${rep + 1}: ${commands.map((c) => `${c.key} ${got[c.key]!.toFixed(0)} ms`).join(', ')}`);
      });
      const figures: Figure[] = [
        { label: 'rune --version vs node -e 0', unit: 'ms', runed: samples.version, reference: { name: 'node -e 0', samples: samples.node! }, goal: { maxRatio: 1.5, text: '≤ 1.5× node -e 0' } },
        { label: 'rune version (client and server versions: one call) vs node -e 0', unit: 'ms', runed: samples.versionCmd, reference: { name: 'node -e 0', samples: samples.node! } },
        { label: `rune get services (${sizes.small} items) vs node -e 0`, unit: 'ms', runed: samples.getSmall, reference: { name: 'node -e 0', samples: samples.node! }, goal: { maxRatio: 2.5, text: '≤ 2.5× node -e 0' } },
        { label: `rune get services (${sizes.small} items) vs etcdctl get --prefix (${sizes.small} keys)`, unit: 'ms', runed: samples.getSmall, reference: { name: 'etcdctl', samples: samples.etcdSmall! } },
        { label: `rune get services (${sizes.big.toLocaleString('en')} items) vs etcdctl get --prefix (${sizes.big.toLocaleString('en')} keys)`, unit: 'ms', runed: samples.getBig, reference: { name: 'etcdctl', samples: samples.etcdBig! } },
      ];
      return {
        figures,
        retried,
        details: samples,
        notes: [
          `CLI: whole processes, spawn to exit, ${hyperfine ? `timed by hyperfine -N (${runs} runs after 1 warm-up per command per repetition; each sample the median of the runs)` : `timed by a spawn loop in the harness (hyperfine not installed; ${runs} runs after 1 warm-up, median)`}; NODE_EXTRA_CA_CERTS unset for every command; rune is package.json's bin (${runeEntry.slice(repoRoot.length + 1)}: answers --version itself, else loads the esbuild bundle of the CLI) run by node, with RUNE_SERVER/RUNE_TOKEN set and a fresh HOME, table output to /dev/null; etcdctl ${etcdctl} (ETCDCTL_API=3) prints the same services' protobuf values.`,
        ],
      };
    } finally {
      await sides.stop();
    }
  },
};
