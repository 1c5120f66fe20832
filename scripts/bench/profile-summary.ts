/**
 * Summarizes a V8 .cpuprofile (from `npm run bench -- --cpu-prof`): self time by function and
 * inclusive time of the heaviest call paths' frames, to see where runed spends its CPU.
 *
 *   npx tsx scripts/bench/profile-summary.ts .bench/profiles/CPU.*.cpuprofile [--top 25] [--skip-ms 1500]
 *
 * --skip-ms leaves out the profile's first milliseconds (runed's own start) to see the steady work.
 *
 * Exit codes: 0 printed, 2 bad usage or unreadable profile.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? relative(process.cwd(), url.replace(/^file:\/\//, '')) : '';
  return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
}

export function summarize(profile: Profile, top: number, skipMs = 0): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let at = profile.startTime;
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at - profile.startTime < skipMs * 1000) return;
    totalUs += delta;
    self.set(id, (self.get(id) ?? 0) + delta);
  });
  const selfByName = new Map<string, number>();
  const inclusiveByName = new Map<string, number>();
  for (const [id, us] of self) {
    const name = frameName(byId.get(id)!);
    selfByName.set(name, (selfByName.get(name) ?? 0) + us);
    // Inclusive: count each distinct frame name once per sample path.
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const n = frameName(byId.get(node)!);
      if (seen.has(n)) continue;
      seen.add(n);
      inclusiveByName.set(n, (inclusiveByName.get(n) ?? 0) + us);
    }
  }
  const idle = selfByName.get('(idle)') ?? 0;
  const busy = totalUs - idle;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const rows = (map: Map<string, number>) =>
    [...map].filter(([name]) => name !== '(idle)' && name !== '(root)').sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => `${ms(us)} ${pct(us)}  ${name}`);
  return [
    `profile: ${ms(totalUs)} wall${skipMs ? ` after the first ${skipMs} ms` : ''}, ${ms(busy)} not idle (percentages below are of the not-idle time)`,
    '',
    'self time:',
    ...rows(selfByName),
    '',
    'inclusive time:',
    ...rows(inclusiveByName),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' }, 'skip-ms': { type: 'string', default: '0' } }, allowPositionals: true });
  if (positionals.length === 0) {
    process.stderr.write('usage: npx tsx scripts/bench/profile-summary.ts <file.cpuprofile>... [--top N]\n');
    process.exit(2);
  }
  for (const file of positionals) {
    try {
      process.stdout.write(`== ${file}\n${summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(values.top), Number(values['skip-ms']))}\n\n`);
    } catch (err) {
      process.stderr.write(`${file}: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }
}
