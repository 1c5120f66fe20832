#!/usr/bin/env node
/**
 * runed: the Rune server, and the commands that run it as a daemon or a service. The settings
 * are declared once in server/config/runed-flags.ts (flags, RUNE_* variables, config file keys).
 * Exit codes: 0 ok, 1 configuration or runtime error (including a data dir held by another
 * runed), 2 address already in use; `runed status` exits 3 when runed is not running.
 */
import { resolve } from 'node:path';
import yargs, { type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runeVersion } from '../shared/version.js';
import { checkRunedSettings, RUNED_FLAGS, type RunedSettings } from './config/runed-flags.js';
import { ConfigError, configPathFromArgv, givenOnCommandLine, layeredDefaults, loadConfigFile, redacted, settingsFromEnv, type ResolvedSetting } from './config/runed-config.js';
import { daemonStatus, printStatus, withLiveStatus } from './daemon/daemon-status.js';
import { serviceFile, writeServiceFile } from './daemon/install-service.js';
import { serve } from './daemon/serve.js';
import { selfCommand, serveArgs } from './daemon/serve-args.js';
import { startDaemon } from './daemon/start-daemon.js';
import { stopDaemon } from './daemon/stop-daemon.js';

const rawArgv = hideBin(process.argv);
let layered: Map<string, ResolvedSetting>;
const configFile = configPathFromArgv(rawArgv);
try {
  layered = layeredDefaults(settingsFromEnv(process.env), configFile ? loadConfigFile(configFile) : {});
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`runed: ${err.message}\n`);
  process.exit(1);
}

/** Flags over env over file over defaults, with where each value came from. */
function effective(argv: Record<string, unknown>): Map<string, ResolvedSetting> {
  const out = new Map<string, ResolvedSetting>();
  for (const flag of RUNED_FLAGS) {
    const layer = layered.get(flag.name)!;
    if (flag.cli !== false && givenOnCommandLine(rawArgv, flag.name)) out.set(flag.name, { value: argv[flag.name] as ResolvedSetting['value'], source: 'flag' });
    else out.set(flag.name, layer);
  }
  return out;
}
const values = (m: Map<string, ResolvedSetting>): RunedSettings => Object.fromEntries([...m].map(([k, v]) => [k, v.value]));
const dataDirOf = (argv: Record<string, unknown>) => resolve(values(effective(argv))['data-dir'] as string);

function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`${flag} must be a duration like 30s, 2m or 500ms (got "${text}")`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

const cli = yargs(rawArgv)
  .scriptName('runed')
  .usage('$0 [command] [flags]\n\nRuns the Rune server: the store, the controllers and the API. Settings come from flags, then RUNE_* environment variables, then --config FILE, then defaults.');
for (const flag of RUNED_FLAGS) {
  if (flag.cli === false) continue;
  const layer = layered.get(flag.name)!;
  const option: Options = {
    type: flag.type === 'string-array' ? 'string' : flag.type,
    array: flag.type === 'string-array' || undefined,
    nargs: flag.type === 'string-array' ? 1 : undefined, // one value per --flag: never swallows the command that follows
    describe: `${flag.describe}${flag.env ? ` [env ${flag.env}]` : ''}`,
    default: layer.value,
    defaultDescription: flag.defaultDescription ?? (flag.default === undefined ? undefined : JSON.stringify(flag.default)),
    choices: flag.choices as string[] | undefined,
    group: 'Server settings (also config file keys):',
  };
  cli.option(flag.name, option);
}
cli
  .option('config', { type: 'string', describe: 'YAML file of settings, keys named like the flags (grpc-addr: 127.0.0.1:7863); flags and RUNE_* variables override it', group: 'Server settings (also config file keys):' })
  .command(['serve', '$0'], 'Run runed in the foreground (the default)', {}, async (argv) => {
    await serve(values(effective(argv)));
  })
  .command(
    'start',
    'Start runed in the background: logs to <data-dir>/runed.log, PID in <data-dir>/runed.pid; returns once it serves',
    (y) =>
      y
        .option('wait-timeout', { type: 'string', default: '60s', describe: 'How long to wait for runed to serve' })
        .example('$0 start --config /etc/rune/runed.yaml', 'start in the background with a config file')
        .epilogue('Exit codes: 0 serving, 1 configuration or runtime error (already running, failed, not serving in time; the log\'s last lines are printed), 2 address already in use.'),
    async (argv) => {
      const settings = effective(argv);
      process.exit(await startDaemon({ dataDir: dataDirOf(argv), serveArgs: serveArgs(settings, { sources: ['flag'], configFile }), timeoutMs: parseDuration(argv['wait-timeout'], '--wait-timeout') }));
    },
  )
  .command(
    'stop',
    'Stop the runed of this data dir (SIGTERM, then wait); a PID reused by another process is never signalled',
    (y) =>
      y
        .option('timeout', { type: 'string', default: '30s', describe: 'How long to wait for runed to exit' })
        .example('$0 stop --data-dir /var/lib/rune --timeout 1m', 'stop the runed of that data dir, waiting up to a minute')
        .epilogue('Exit codes: 0 stopped (or not running; a stale pidfile is removed), 1 still running at the timeout.'),
    async (argv) => {
      process.exit(await stopDaemon({ dataDir: dataDirOf(argv), timeoutMs: parseDuration(argv.timeout, '--timeout') }));
    },
  )
  .command(
    'restart',
    'runed stop, then runed start',
    (y) =>
      y
        .option('timeout', { type: 'string', default: '30s', describe: 'How long to wait for the old runed to exit' })
        .option('wait-timeout', { type: 'string', default: '60s', describe: 'How long to wait for the new one to serve' })
        .example('$0 restart --config /etc/rune/runed.yaml', 'restart with the file\'s current settings')
        .epilogue('Exit codes: as runed stop, then as runed start.'),
    async (argv) => {
      const dataDir = dataDirOf(argv);
      const stopped = await stopDaemon({ dataDir, timeoutMs: parseDuration(argv.timeout, '--timeout') });
      if (stopped !== 0) process.exit(stopped);
      process.exit(await startDaemon({ dataDir, serveArgs: serveArgs(effective(argv), { sources: ['flag'], configFile }), timeoutMs: parseDuration(argv['wait-timeout'], '--wait-timeout') }));
    },
  )
  .command(
    'status',
    'Whether runed runs for this data dir: running (addresses, version, uptime), stopped, or stale pidfile. Exit 0 running, 3 not',
    (y) =>
      y
        .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'Output format' })
        .example('$0 status -o json', 'state, PID, addresses, version and uptime as JSON')
        .epilogue('Exit codes: 0 running, 3 not running (stopped or stale pidfile), 1 error.'),
    async (argv) => {
      process.exit(printStatus(await withLiveStatus(daemonStatus(dataDirOf(argv))), argv.output));
    },
  )
  .command(
    'config <action>',
    'config print: the effective settings after flags > env > file > defaults, with their sources; secrets redacted',
    (y) =>
      y
        .positional('action', { choices: ['print'] as const, describe: 'What to do' })
        .option('output', { alias: 'o', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'Output format' })
        .example('RUNE_LOG_LEVEL=debug $0 config print --config runed.yaml', 'what runed would run with, and where each value comes from')
        .epilogue('Exit codes: 0 printed, 1 configuration error (naming the key, variable or flag).'),
    (argv) => {
      const shown = redacted(effective(argv));
      if (argv.output === 'json') process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      else {
        if (configFile) process.stdout.write(`# config file: ${resolve(configFile)}\n`);
        for (const [name, { value, source }] of Object.entries(shown)) process.stdout.write(`${name}: ${JSON.stringify(value)}  # ${source}\n`);
      }
      process.exit(0);
    },
  )
  .command(
    'install-service',
    'Write a systemd unit (Linux) or launchd plist (macOS) running runed serve with these settings, and print how to enable it',
    (y) =>
      y
        .option('user', { type: 'boolean', default: false, describe: 'A user service (~/.config/systemd/user or ~/Library/LaunchAgents) instead of a system one' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'Print the file instead of writing it' })
        .example('$0 install-service --user --config ~/.config/rune/runed.yaml', 'a systemd user unit running runed with that file')
        .epilogue('Exit codes: 0 written (or printed), 1 configuration error or the file could not be written.'),
    (argv) => {
      // Flags and env become flags in the unit (a service has no shell environment); the config
      // file is passed on by path, so editing it and restarting the service takes effect.
      const file = serviceFile({ command: selfCommand(), args: serveArgs(effective(argv), { sources: ['flag', 'env'], configFile }), user: argv.user });
      if (layered.get('kek')?.source === 'env') process.stderr.write('runed: RUNE_KEK is set but is not written into the service file; use --kek-file, or give the service the variable (systemd: EnvironmentFile=)\n');
      if (argv['dry-run']) {
        process.stdout.write(`# ${file.path}\n${file.content}`);
      } else {
        writeServiceFile(file);
        process.stdout.write(`wrote ${file.path}\nenable and start it with:\n${file.enable.map((c) => `  ${c}`).join('\n')}\n`);
      }
      process.exit(0);
    },
  )
  .example('$0', 'serve on 127.0.0.1:7863 with data in ~/.rune/data')
  .example('$0 --data-dir /var/lib/rune --grpc-addr 127.0.0.1:9000', 'another data dir and port')
  .example('$0 --grpc-addr 0.0.0.0:7863 --tls-cert server.crt --tls-key server.key --client-ca clients-ca.crt', 'serve the network with mutual TLS')
  .example('$0 start --config /etc/rune/runed.yaml', 'in the background with a config file; runed status, runed stop')
  .example('$0 install-service --user --dry-run', 'show the systemd user unit for these settings')
  .epilogue('Exit codes: 0 ok (serve: stopped cleanly), 1 configuration or runtime error, 2 address already in use; status: 3 not running.')
  .check((argv) => {
    checkRunedSettings(values(effective(argv)));
    return true;
  })
  .version(runeVersion())
  .strict()
  .help();

await cli.parseAsync();
