// The machine's bare spawn floor: a small Node parent (plain JS, no loader, nothing imported but
// node:*) spawns N copies of a command detached, as runed does (own session and process group,
// stdin from /dev/null, stdout/stderr to a file descriptor), and reports how long it took until
// every one was running (exec'd: /proc/<pid>/comm is the command's name).
//
// Usage: node spawn-floor-parent.mjs <n> <absolute command path> [args...]
// With SPAWN_FLOOR_BALLAST_MB=M in the environment, the parent first fills its JS heap with about
// M MB of live objects, to show what a bigger parent (such as runed) pays per spawn.
// Prints one JSON line: {"ms": <number>, "pids": [...], "rssMb": <parent RSS when spawning>}.
// The children are left running: the harness kills them (they carry its tag in their environment).
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

const [count, command, ...args] = process.argv.slice(2);
const n = Number(count);
if (!(n > 0) || !command) {
  process.stderr.write('usage: node spawn-floor-parent.mjs <n> <command> [args...]\n');
  process.exit(2);
}
const comm = basename(command).slice(0, 15);
const ballast = [];
for (let mb = Number(process.env.SPAWN_FLOOR_BALLAST_MB ?? 0); mb > 0; mb--) {
  // ~1 MB of small live objects per round: what a server's heap is made of.
  ballast.push(Array.from({ length: 16_384 }, (_, i) => ({ i, s: `k${i}` })));
}
const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
const out = openSync('/dev/null', 'a');

const t0 = performance.now();
const pids = [];
for (let i = 0; i < n; i++) {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
  if (child.pid === undefined) {
    process.stderr.write(`spawn ${i} failed\n`);
    process.exit(1);
  }
  child.unref();
  pids.push(child.pid);
}
// libuv returns from spawn after exec, so this normally passes at once; bounded all the same.
const deadline = Date.now() + 10_000;
for (const pid of pids) {
  for (;;) {
    let name = '';
    try {
      name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      // not there yet, or gone
    }
    if (name === comm) break;
    if (Date.now() > deadline) {
      process.stderr.write(`process ${pid} is not running ${comm} after 10 s\n`);
      process.exit(1);
    }
  }
}
const ms = performance.now() - t0;
process.stdout.write(`${JSON.stringify({ ms, pids, rssMb, ballast: ballast.length })}\n`);
process.exit(0);
