/** The facts of the machine and tree a run measured, recorded with every result. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { repoRoot } from './build.js';
import { DROPPED_VARIABLES } from './cleanup.js';
import { pm2Version } from './pm2-launcher.js';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  kernel: string;
  date: string;
  git: { commit: string; dirty: boolean } | undefined;
  pm2: string;
  /** 1-minute load average when the run started (others' work on the machine makes figures noisy). */
  loadAverageAtStart: number;
  /** Variables removed from every child's environment, and why. */
  childEnvDropped: Record<string, string>;
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

export function describeMachine(): Machine {
  const cpuList = cpus();
  let gitInfo: Machine['git'];
  try {
    gitInfo = { commit: git(['rev-parse', '--short', 'HEAD']), dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '' };
  } catch {
    gitInfo = undefined;
  }
  return {
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: release(),
    date: new Date().toISOString(),
    git: gitInfo,
    pm2: pm2Version(),
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
    childEnvDropped: { ...DROPPED_VARIABLES },
  };
}
