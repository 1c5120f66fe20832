// After tsc: writes dist/openapi.json, the OpenAPI 3.1 document of the REST gateway, from the
// compiled route table and dist/rune.binpb (so it always matches the protos of this build).
// runed serves it at GET /openapi.json.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildOpenApiDocument } = await import(join(root, 'dist', 'server', 'gateway', 'openapi-document.js'));
const { loadApiRegistry } = await import(join(root, 'dist', 'server', 'gateway', 'proto-registry.js'));
const { methods } = await import(join(root, 'dist', 'shared', 'api', 'methods.js'));
const { runeVersion } = await import(join(root, 'dist', 'shared', 'version.js'));

const document = buildOpenApiDocument({ methods: methods.values(), registry: loadApiRegistry(join(root, 'dist', 'rune.binpb')), version: runeVersion() });
const file = join(root, 'dist', 'openapi.json');
writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${file}: ${Object.keys(document.paths).length} paths`);
