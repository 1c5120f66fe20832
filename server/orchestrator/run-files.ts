/**
 * The files of one local run, all in its own folder `<dataDir>/runs/<namespace>/<id>/` (0700),
 * which goes when the run is deleted:
 *
 *   status.json   $RUNE_STATUS_FILE: what the workload reports (status-report.ts)
 *   exit-<n>      the exit status of attempt n, written by the runner's wrapper (EXIT_WRAPPER in
 *                 server/runner/process-runner.ts), read when runed did not see the exit itself
 *   output.log    stdout and stderr of every attempt, appended (status.logPath)
 *   work/         the working dir when the job names none
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunFiles {
  dir: string;
  statusFile: string;
  logFile: string;
  workDir: string;
  exitFile(attempt: number): string;
}

export function runFiles(dataDir: string, namespace: string, id: string): RunFiles {
  const dir = join(dataDir, 'runs', namespace, id);
  return {
    dir,
    statusFile: join(dir, 'status.json'),
    logFile: join(dir, 'output.log'),
    workDir: join(dir, 'work'),
    exitFile: (attempt) => join(dir, `exit-${attempt}`),
  };
}

/** The exit status an attempt's wrapper wrote, or undefined when there is none (yet). */
export async function readExitFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const code = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(code) && code >= 0 && code <= 255 ? code : undefined;
}
