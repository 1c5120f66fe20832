/**
 * `rune cast FILE...`: lint every document (nothing is sent if any has a problem), then create
 * or update each object on runed, printing `service/web created|updated|configured|unchanged`.
 * With --wait (the default on a terminal) it then follows the cast services' instances until
 * they all run the new generation and are ready, and fails when one of them fails.
 */
import type { Argv, CommandModule } from 'yargs';
import type { RuneClient } from '../../api/rune-client.js';
import type { Service } from '../../../shared/gen/rune/v1/service.js';
import type { CastDocument } from '../../../shared/spec/cast-file.js';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';
import type { RolloutTarget } from '../rollout-state.js';

export interface CastArgs extends GlobalArgs {
  files: string[];
  dryRun: boolean;
  wait?: boolean;
  detach?: boolean;
  timeoutWait: string;
}

/** Whether to wait: --detach never, --wait always, else when stdout is a terminal. UsageError for both, or --wait with --dry-run. */
export function shouldWait(argv: Pick<CastArgs, 'wait' | 'detach' | 'dryRun'>, stdoutIsTTY: boolean): boolean {
  if (argv.wait === true && argv.detach === true) throw new UsageError('--wait and --detach contradict each other: pick one');
  if (argv.wait === true && argv.dryRun) throw new UsageError('--wait cannot follow a --dry-run: nothing is rolled out');
  if (argv.detach === true || argv.dryRun) return false;
  return argv.wait ?? stdoutIsTTY;
}

const CAST_EXIT_CODES =
  'Exit codes: 0 success (with --wait: every cast service converged), 1 error (server, file or lint problem; with --wait: an instance failed or ' +
  'crash-loops, or --timeout-wait passed), 2 usage error, 130 interrupted while waiting (the rollout goes on).';

export const castCommand: CommandModule<GlobalArgs, CastArgs> = {
  command: 'cast <files..>',
  describe: 'Create or update the objects in cast files (apply)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('files', { type: 'string', array: true, describe: 'Cast files or directories; - reads stdin', demandOption: true })
        .option('dry-run', { type: 'boolean', default: false, describe: 'Have runed validate and report what would change, without writing' })
        .option('wait', { type: 'boolean', describe: 'Then wait until every cast service runs its new generation, ready (and still so 2s later) [default: when stdout is a terminal]' })
        .option('detach', { type: 'boolean', describe: 'Do not wait: return once runed has the objects' })
        .option('timeout-wait', { type: 'string', default: '120s', requiresArg: true, describe: 'Longest wait, e.g. 90s, 5m (a bare number is seconds)' }),
      [
        ['rune cast web.yml', 'Create or update every object in web.yml (on a terminal: and wait for the rollout)'],
        ['rune cast -n staging web.yml db.yml', 'Cast into namespace staging (documents naming another namespace are errors)'],
        ['rune cast --dry-run deploy/', 'See what would change'],
        ['cat web.yml | rune cast -', 'Cast from stdin'],
        ['rune cast web.yml --wait --timeout-wait 5m', 'In CI: wait for the rollout; exit 1 with the failing instance\'s logs'],
        ['rune cast web.yml --detach', 'Return at once'],
      ],
      CAST_EXIT_CODES,
    ) as unknown as Argv<CastArgs>,
  handler: action<CastArgs>(async (argv, state) => {
    const wait = shouldWait(argv, process.stdout.isTTY === true);
    const { parseDuration } = await import('../parse-time.js');
    const timeoutMs = parseDuration(argv.timeoutWait, { flag: '--timeout-wait', bareSeconds: true });
    const { connectionFor } = await import('../connection.js');
    const { loadLintedCastFiles } = await import('../cast-input.js');
    const connection = await connectionFor(argv);
    const input = await loadLintedCastFiles(argv.files, connection, (n) => `${n} problem${n === 1 ? '' : 's'}; nothing was sent`);
    if (!input) return;
    if (input.documents.length === 0) {
      const { RuneError } = await import('../../../shared/errors.js');
      const { castDocumentKeys } = await import('../../../shared/spec/cast-kinds.js');
      throw new RuneError('INVALID_ARGUMENT', `no objects in ${input.files.join(', ')}: a document starts with one of ${castDocumentKeys().map((k) => `"${k}:"`).join(', ')}`);
    }

    const { withSession } = await import('../session.js');
    const { describeError } = await import('../error-message.js');
    const { printError } = await import('../action.js');
    const { RuneError } = await import('../../../shared/errors.js');
    const { castObjectMeta, castOrder } = await import('../../../shared/spec/cast-kinds.js');
    const { stringify } = await import('yaml');
    await withSession(argv, state, async ({ client }) => {
      const results: unknown[] = [];
      const targets: RolloutTarget[] = [];
      let failed = 0;
      // Secrets and configmaps first, so the services cast with them find them when they start.
      const ordered = input.documents.map((doc, i) => ({ doc, i })).sort((a, b) => castOrder(a.doc.kind) - castOrder(b.doc.kind) || a.i - b.i);
      for (const { doc } of ordered) {
        const name = `${doc.kind}/${castObjectMeta(doc)?.name}`;
        try {
          const response = await send(client, doc, argv.dryRun);
          results.push(response.json);
          const meta = response.service?.metadata;
          if (meta) targets.push({ namespace: meta.namespace, name: meta.name, generation: meta.generation, scale: response.service?.spec?.scale ?? 0 });
          if (argv.output === 'table' || argv.output === 'wide') {
            process.stdout.write(`${name} ${response.result}${argv.dryRun ? ' (dry run)' : ''}\n`);
          } else if (argv.output === 'name') {
            process.stdout.write(`${name}\n`);
          }
        } catch (err) {
          const error = RuneError.from(err);
          // Without a server or a valid token every other object fails the same way: stop here.
          if (error.code === 'UNAVAILABLE' || error.code === 'UNAUTHENTICATED') throw error;
          failed++;
          printError(`${name} (${doc.file}:${doc.line}): ${describeError(error, state).message}`, argv.color);
        }
      }
      if (argv.output === 'json') process.stdout.write(JSON.stringify({ items: results }, null, 2) + '\n');
      if (argv.output === 'yaml') process.stdout.write(stringify({ items: results }));
      if (failed > 0) {
        process.exitCode = 1;
        return; // the cast itself failed: waiting for the rest would hide that
      }
      if (wait && targets.length > 0) await waitAndReport(client, targets, timeoutMs, argv);
    });
  }),
};

/** Follows the rollout with a live view; on failure or timeout prints the culprits and their last log lines, exit 1. */
async function waitAndReport(client: RuneClient, targets: RolloutTarget[], timeoutMs: number, argv: CastArgs): Promise<void> {
  const { waitForRollout, lastLogLines } = await import('../wait-for-rollout.js');
  const { RolloutView } = await import('../output/rollout-view.js');
  const { printError, printWarning } = await import('../action.js');
  const { shortReason } = await import('../error-message.js');
  // Scripts reading -o json|yaml|name from stdout get the progress on stderr.
  const stream = argv.output === 'table' || argv.output === 'wide' ? process.stdout : process.stderr;
  const view = new RolloutView(stream.isTTY ? 'redraw' : 'lines');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let result;
  try {
    result = await waitForRollout({
      client,
      targets,
      timeoutMs,
      signal: stop.signal,
      onProgress: (progress) => stream.write(view.render(progress)),
      onRetry: (error, attempt, delayMs) =>
        printWarning(`watch interrupted (${error.code}: ${shortReason(error.message)}); reconnecting in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt})`, argv.color),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (result.outcome === 'converged') return;
  if (result.outcome === 'interrupted') {
    printWarning('stopped waiting; the rollout goes on (see "rune get instances -w")', argv.color);
    process.exitCode = 130;
    return;
  }

  process.exitCode = 1;
  const { rolloutProblem, culpritDetails } = await import('../output/rollout-report.js');
  const problem = rolloutProblem(result.state, result.outcome === 'failed' ? result.failure : undefined, timeoutMs);
  printError(problem.message, argv.color);
  for (const { namespace, instance } of problem.culprits) {
    process.stderr.write(culpritDetails(instance, await lastLogLines(client, namespace, instance.metadata?.name ?? '', 10)));
  }
}

/** Sends one cast object with the RPC for its kind; `json` is the object runed returned, as proto3 JSON; `service` the service, for --wait. */
async function send(client: RuneClient, doc: CastDocument, dryRun: boolean): Promise<{ result: string; json: unknown; service?: Service }> {
  switch (doc.kind) {
    case 'service': {
      const { Service } = await import('../../../shared/gen/rune/v1/service.js');
      const response = await client.castService({ service: doc.service, dryRun });
      return { result: response.result, json: response.service ? Service.toJSON(response.service) : {}, service: response.service };
    }
    case 'job': {
      const { Job } = await import('../../../shared/gen/rune/v1/job.js');
      const response = await client.castJob({ job: doc.job, dryRun });
      return { result: response.result, json: response.job ? Job.toJSON(response.job) : {} };
    }
    case 'secret': {
      // The response never holds values; neither does what is printed.
      const { Secret } = await import('../../../shared/gen/rune/v1/secret.js');
      const response = await client.castSecret({ secret: doc.secret, dryRun });
      return { result: response.result, json: response.secret ? Secret.toJSON(response.secret) : {} };
    }
    case 'configmap': {
      const { ConfigMap } = await import('../../../shared/gen/rune/v1/configmap.js');
      const response = await client.castConfigMap({ configMap: doc.configMap, dryRun });
      return { result: response.result, json: response.configMap ? ConfigMap.toJSON(response.configMap) : {} };
    }
  }
}
