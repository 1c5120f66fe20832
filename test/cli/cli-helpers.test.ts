import { expect } from 'chai';
import { UsageError } from '../../client/cli/global-options.js';
import { matchesSelector, parseSelector } from '../../client/cli/label-selector.js';
import { resourceKind } from '../../client/cli/resources.js';
import { paint, useColor } from '../../client/cli/style.js';

describe('resource words', () => {
  const cases: Array<[string, string]> = [['services', 'services'], ['service', 'services'], ['svc', 'services'], ['SVC', 'services'], ['namespaces', 'namespaces'], ['ns', 'namespaces']];
  for (const [word, kind] of cases) it(`${word} → ${kind}`, () => expect(resourceKind(word)).to.equal(kind));
  it('rejects unknown words with the forms and a hint', () => {
    expect(() => resourceKind('servce')).to.throw(UsageError, 'unknown resource type "servce"; use services (service, svc) or namespaces (namespace, ns); did you mean "service"?');
  });
});

describe('label selectors', () => {
  it('parses key=value and key==value lists', () => {
    expect(parseSelector('app=web, tier==front')).to.deep.equal({ app: 'web', tier: 'front' });
    expect(parseSelector('')).to.deep.equal({});
  });
  it('names -l on a bad selector', () => {
    expect(() => parseSelector('app')).to.throw(UsageError, '-l/--selector: "app" is not key=value');
  });
  it('matches when every pair is present', () => {
    expect(matchesSelector({ app: 'web', tier: 'front' }, { app: 'web' })).to.equal(true);
    expect(matchesSelector({ app: 'web' }, { app: 'db' })).to.equal(false);
    expect(matchesSelector(undefined, {})).to.equal(true);
  });
});

describe('colour', () => {
  it('is on only for a terminal, without --no-color and without NO_COLOR', () => {
    expect(useColor(true, { isTTY: true }, {})).to.equal(true);
    expect(useColor(false, { isTTY: true }, {}), '--no-color').to.equal(false);
    expect(useColor(true, { isTTY: true }, { NO_COLOR: '1' }), 'NO_COLOR').to.equal(false);
    expect(useColor(true, { isTTY: false }, {}), 'pipe').to.equal(false);
  });
  it('paints only when on', () => {
    expect(paint(false, 'red', 'error:')).to.equal('error:');
    expect(paint(true, 'red', 'error:')).to.equal('\x1b[31merror:\x1b[0m');
  });
});
