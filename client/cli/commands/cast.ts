/**
 * `rune cast FILE...`: lint every document (nothing is sent if any has a problem), then create
 * or update each object on runed, printing `service/web created|updated|configured|unchanged`.
 */
import type { Argv, CommandModule } from 'yargs';
import type { RuneClient } from '../../api/rune-client.js';
import type { CastDocument } from '../../../shared/spec/cast-file.js';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';

export interface CastArgs extends GlobalArgs {
  files: string[];
  dryRun: boolean;
}

export const castCommand: CommandModule<GlobalArgs, CastArgs> = {
  command: 'cast <files..>',
  describe: 'Create or update the objects in cast files (apply)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('files', { type: 'string', array: true, describe: 'Cast files or directories; - reads stdin', demandOption: true })
        .option('dry-run', { type: 'boolean', default: false, describe: 'Have runed validate and report what would change, without writing' }),
      [
        ['rune cast web.yml', 'Create or update every object in web.yml'],
        ['rune cast -n staging web.yml db.yml', 'Cast into namespace staging (documents naming another namespace are errors)'],
        ['rune cast --dry-run deploy/', 'See what would change'],
        ['cat web.yml | rune cast -', 'Cast from stdin'],
      ],
    ) as unknown as Argv<CastArgs>,
  handler: action<CastArgs>(async (argv, state) => {
    const { connectionFor } = await import('../connection.js');
    const { loadCastFiles } = await import('../cast-input.js');
    const { formatLintError } = await import('../../../shared/spec/cast-file.js');
    const connection = await connectionFor(argv);
    const input = await loadCastFiles(argv.files, {
      defaultNamespace: connection.namespace,
      requireNamespace: connection.namespaceExplicit ? connection.namespace : undefined,
    });
    if (input.errors.length > 0) {
      for (const error of input.errors) process.stderr.write(formatLintError(error) + '\n');
      process.stderr.write(`${input.errors.length} problem${input.errors.length === 1 ? '' : 's'}; nothing was sent\n`);
      process.exitCode = 1;
      return;
    }
    if (input.documents.length === 0) {
      const { RuneError } = await import('../../../shared/errors.js');
      throw new RuneError('INVALID_ARGUMENT', `no objects in ${input.files.join(', ')}: a document starts with "service:" or "services:"`);
    }

    const { withSession } = await import('../session.js');
    const { describeError } = await import('../error-message.js');
    const { printError } = await import('../action.js');
    const { RuneError } = await import('../../../shared/errors.js');
    const { castObjectMeta } = await import('../../../shared/spec/cast-kinds.js');
    const { stringify } = await import('yaml');
    await withSession(argv, state, async ({ client }) => {
      const results: unknown[] = [];
      let failed = 0;
      for (const doc of input.documents) {
        const name = `${doc.kind}/${castObjectMeta(doc)?.name}`;
        try {
          const response = await send(client, doc, argv.dryRun);
          results.push(response.json);
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
      if (failed > 0) process.exitCode = 1;
    });
  }),
};

/** Sends one cast object with the RPC for its kind; `json` is the object runed returned, as proto3 JSON. */
async function send(client: RuneClient, doc: CastDocument, dryRun: boolean): Promise<{ result: string; json: unknown }> {
  switch (doc.kind) {
    case 'service': {
      const { Service } = await import('../../../shared/gen/rune/v1/service.js');
      const response = await client.castService({ service: doc.service, dryRun });
      return { result: response.result, json: response.service ? Service.toJSON(response.service) : {} };
    }
  }
}
