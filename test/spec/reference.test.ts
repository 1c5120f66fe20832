import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { packageRoot } from '../../shared/version.js';
import { castFileReference, referenceSection, replaceReferenceSection, REFERENCE_END_MARKER, REFERENCE_START_MARKER } from '../../shared/spec/reference.js';

describe('cast-file reference', () => {
  it('README.md holds the current reference (regenerate: node --import tsx scripts/gen-cast-reference.ts)', () => {
    const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
    const section = referenceSection(readme);
    expect(section, `README.md lacks ${REFERENCE_START_MARKER} … ${REFERENCE_END_MARKER}`).to.be.a('string');
    expect(section).to.equal(castFileReference());
  });

  it('lists every field with its type, default and description', () => {
    const reference = castFileReference();
    expect(reference).to.include('| `scale` | integer 0–1000 | `1` | Number of instances to keep running; 0 stops them all. |');
    expect(reference).to.include('| `ports[].protocol` | `tcp` \\| `udp` | `tcp` |');
    expect(reference).to.include('| `health.liveness.port` | integer 1–65535 |');
    expect(reference).to.include('| `name` | DNS label | required |');
  });

  it('replaces only the text between the markers', () => {
    const readme = `# Title\n\nintro\n\n${REFERENCE_START_MARKER}\nold\n${REFERENCE_END_MARKER}\n\n## After\n`;
    expect(replaceReferenceSection(readme, 'new\n')).to.equal(`# Title\n\nintro\n\n${REFERENCE_START_MARKER}\nnew\n${REFERENCE_END_MARKER}\n\n## After\n`);
  });

  it('appends a section with the markers when there is none', () => {
    expect(replaceReferenceSection('# Rune\n', 'ref\n')).to.equal(`# Rune\n\n## Cast file reference\n\n${REFERENCE_START_MARKER}\nref\n${REFERENCE_END_MARKER}\n`);
  });
});
