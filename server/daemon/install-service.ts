/**
 * `runed install-service`: a systemd unit (Linux) or a launchd plist (macOS) that runs
 * `runed serve` with the given configuration. The unit runs node and the script by absolute
 * path. KillMode=process: instances outlive runed by design (a restarted runed adopts them),
 * so stopping the unit stops runed only, as `runed stop` does.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../shared/version.js';

export interface ServiceFile {
  path: string;
  content: string;
  /** Commands that load and start it. */
  enable: string[];
}

export interface ServiceOptions {
  /** node, its flags and the script: absolute. */
  command: string[];
  /** `serve ...`. */
  args: string[];
  /** A user service (~/.config/systemd/user, ~/Library/LaunchAgents) rather than a system one. */
  user: boolean;
  platform?: NodeJS.Platform;
  home?: string;
}

export function serviceFile(options: ServiceOptions): ServiceFile {
  const platform = options.platform ?? process.platform;
  const home = options.home ?? homedir();
  if (platform === 'darwin') return launchdPlist(options, home);
  if (platform === 'linux') return systemdUnit(options, home);
  throw new Error(`install-service knows systemd (Linux) and launchd (macOS); this is ${platform}`);
}

function systemdUnit(options: ServiceOptions, home: string): ServiceFile {
  const argv = [...options.command, ...options.args];
  const lines = [
    '# Written by runed install-service. Edit the flags here or regenerate.',
    '[Unit]',
    'Description=Rune server (runed)',
    'After=network-online.target',
    'Wants=network-online.target',
    // Exit 2 (address in use) and 1 (configuration) are not fixed by restarting in a loop forever.
    'StartLimitIntervalSec=60',
    'StartLimitBurst=5',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${argv.map(systemdQuote).join(' ')}`,
    `WorkingDirectory=${systemdQuote(packageRoot())}`,
    'Restart=on-failure',
    'RestartSec=2s',
    // Instances are runed's children but outlive it by design; a restarted runed adopts them.
    'KillMode=process',
    'TimeoutStopSec=30s',
  ];
  if (!options.user) {
    const u = userInfo();
    if (u.uid !== 0) lines.push(`User=${u.username}`, `Environment=HOME=${systemdQuote(home)}`);
  }
  lines.push('', '[Install]', `WantedBy=${options.user ? 'default.target' : 'multi-user.target'}`, '');
  const path = options.user ? join(home, '.config', 'systemd', 'user', 'runed.service') : '/etc/systemd/system/runed.service';
  const sc = options.user ? 'systemctl --user' : 'systemctl';
  return { path, content: lines.join('\n'), enable: [`${sc} daemon-reload`, `${sc} enable --now runed.service`, `${sc} status runed.service`] };
}

function launchdPlist(options: ServiceOptions, home: string): ServiceFile {
  const argv = [...options.command, ...options.args];
  const x = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const path = options.user ? join(home, 'Library', 'LaunchAgents', 'dev.rune.runed.plist') : '/Library/LaunchDaemons/dev.rune.runed.plist';
  const content = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>dev.rune.runed</string>
  <key>ProgramArguments</key>
  <array>
${argv.map((a) => `    <string>${x(a)}</string>`).join('\n')}
  </array>
  <key>WorkingDirectory</key><string>${x(packageRoot())}</string>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
  <key>AbandonProcessGroup</key><true/>
</dict>
</plist>
`;
  const domain = options.user ? 'gui/$(id -u)' : 'system';
  return { path, content, enable: [`launchctl bootstrap ${domain} ${path}`, `launchctl kickstart -k ${domain}/dev.rune.runed`] };
}

/** Quotes one ExecStart word for systemd: specifiers (%) and variables ($) escaped. */
export function systemdQuote(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) && escaped !== '') return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Writes the file (creating its directory). */
export function writeServiceFile(file: ServiceFile): void {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.content, { mode: 0o644 });
}
