import { expect } from 'chai';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { parseScale } from '../../client/cli/commands/scale.js';
import { UsageError } from '../../client/cli/global-options.js';
import { printServiceResult } from '../../client/cli/output/service-result.js';
import { serviceName } from '../../client/cli/resources.js';

describe('scale and restart arguments and output', () => {
  const scales: Array<[string, number]> = [['0', 0], ['3', 3], ['12', 12]];
  for (const [text, n] of scales) it(`scale "${text}" → ${n}`, () => expect(parseScale(text)).to.equal(n));
  for (const bad of ['-1', '1.5', 'three', '', '3x', '99999999999999999999']) {
    it(`scale "${bad}" is a usage error`, () => expect(() => parseScale(bad)).to.throw(UsageError, 'scale must be a whole number from 0 up'));
  }

  it('a service is NAME or service/NAME (any form of the word)', () => {
    expect(serviceName('web')).to.equal('web');
    expect(serviceName('service/web')).to.equal('web');
    expect(serviceName('svc/web')).to.equal('web');
    expect(() => serviceName('namespace/web')).to.throw(UsageError);
    expect(() => serviceName('service/')).to.throw(UsageError, 'does not name a service');
  });

  it('prints service/NAME and what happened; name, json and yaml for scripts', () => {
    const service = Service.fromPartial({ metadata: { name: 'web', namespace: 'default' }, spec: { scale: 3 } });
    expect(printServiceResult(service, 'web', 'scaled to 3', 'table')).to.equal('service/web scaled to 3\n');
    expect(printServiceResult(service, 'web', 'restarting (rolling)', 'wide')).to.equal('service/web restarting (rolling)\n');
    expect(printServiceResult(service, 'web', 'scaled to 3', 'name')).to.equal('service/web\n');
    expect(JSON.parse(printServiceResult(service, 'web', 'scaled to 3', 'json')).spec.scale).to.equal(3);
    expect(printServiceResult(service, 'web', 'scaled to 3', 'yaml')).to.match(/^ {2}scale: 3$/m);
  });
});
