import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { createLogger, REDACTED } from '../../server/logger.js';

/** The JSON lines a logger writes while `log` runs. */
function captured(log: (logger: ReturnType<typeof createLogger>) => void): Record<string, unknown>[] {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  log(createLogger('trace', stream));
  return Buffer.concat(chunks)
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('runed logger redaction', () => {
  it('censors credentials and secret values wherever a log call is likely to put them', () => {
    const [entry] = captured((log) =>
      log.info(
        {
          authorization: 'Bearer tok-1',
          'x-api-key': 'tok-2',
          headers: { authorization: 'Bearer tok-3', 'x-api-key': 'tok-4' },
          call: { metadata: { authorization: 'Bearer tok-5' } },
          secret: { data: { password: 'pw-1' }, keys: ['password'] },
          request: { secret: { data: { password: 'pw-2' } }, env: { DB_PASSWORD: 'pw-3' } },
          env: { DB_PASSWORD: 'pw-4' },
          secretValue: 'pw-5',
          instance: 'web-1',
        },
        'something happened',
      ),
    );
    const text = JSON.stringify(entry);
    for (const value of ['tok-1', 'tok-2', 'tok-3', 'tok-4', 'tok-5', 'pw-1', 'pw-2', 'pw-3', 'pw-4', 'pw-5']) expect(text).not.to.include(value);
    expect(entry).to.include({ authorization: REDACTED, 'x-api-key': REDACTED, env: REDACTED, instance: 'web-1', msg: 'something happened' });
    expect((entry!.secret as Record<string, unknown>).keys, 'key names stay').to.deep.equal(['password']);
  });
});
