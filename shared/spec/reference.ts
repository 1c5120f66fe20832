/**
 * The cast-file reference, generated from the zod schemas (their `.meta()` descriptions,
 * defaults, ranges and enumerations), so documentation cannot drift from what the linter
 * enforces. scripts/gen-cast-reference.ts writes it into README.md between
 * `<!-- cast-reference:start -->` and `<!-- cast-reference:end -->`; a test checks it is current.
 */
import { z } from 'zod';
import { castDocumentKeys } from './cast-kinds.js';
import { MAX_DOCUMENT_BYTES } from './cast-file.js';
import { ConfigMapDocumentSchema } from './configmap-spec.js';
import { JobDocumentSchema } from './job-spec.js';
import { SecretDocumentSchema } from './secret-spec.js';
import { ServiceDocumentSchema } from './service-spec.js';

export const REFERENCE_START_MARKER = '<!-- cast-reference:start -->';
export const REFERENCE_END_MARKER = '<!-- cast-reference:end -->';

/** A JSON Schema node as zod emits it, plus our own meta keys. */
interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  pattern?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  /** Meta: how to write the type, e.g. "DNS label". */
  typeText?: string;
  /** Meta: how to write the default when it is not a plain value, e.g. "required for ...". */
  defaultText?: string;
}

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

/** The Markdown table of every field of a document schema: path, type, default, description. */
function fieldTable(schema: z.ZodType): string[] {
  const rows: Row[] = [];
  collectRows(z.toJSONSchema(schema, { io: 'input' }) as SchemaNode, '', rows);
  return [
    '| Field | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.path}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`),
  ];
}

/** The Markdown reference of every field of every kind: path, type, default, description. */
export function castFileReference(): string {
  const keys = castDocumentKeys().map((k) => `\`${k}:\``).join(', ');
  const lines = [
    'A cast file holds one or more YAML documents separated by `---`. Each document has exactly one',
    `top-level key naming its kind: ${keys} (\`service:\` holds one service, \`services:\` a list).`,
    `Unknown fields are errors; a document may be at most ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB. \`rune lint FILE\` checks a file`,
    'without sending it; `rune cast FILE` checks it the same way, then sends it. runed applies the same rules.',
    '',
    '```yaml',
    'service:',
    '  name: web',
    '  command: node',
    '  args: [server.js]',
    '  env: {PORT: "8080"}',
    '  scale: 2',
    '  ports: [{name: http, port: 8080}]',
    '  health:',
    '    readiness: {type: http, path: /healthz, port: 8080}',
    '```',
    '',
    '### `service` fields',
    '',
    ...fieldTable(ServiceDocumentSchema),
    '',
    '### `job` fields',
    '',
    'A job runs to completion: once when cast (no `schedule`), on a cron schedule, or on demand with',
    '`rune runs start JOB`. Each execution is a run (`rune runs list`, `rune runs watch`). While it runs,',
    'the process may report progress by writing JSON to the file named by `$RUNE_STATUS_FILE`:',
    '`{"phase": "running", "currentTask": "dump", "progress": {"finished": 3, "total": 10}, "message": "..."}`',
    '(`phase` may be `running` or `blocked`).',
    '',
    '```yaml',
    'job:',
    '  name: backup',
    '  command: /usr/local/bin/backup',
    '  schedule: "0 3 * * *"        # or 6 fields with seconds first: "*/10 * * * * *"',
    '  timezone: Europe/Paris',
    '  concurrencyPolicy: Forbid',
    '  backoffLimit: 2',
    '  activeDeadlineSeconds: 3600',
    '```',
    '',
    ...fieldTable(JobDocumentSchema),
    '',
    '### `secret` fields',
    '',
    'Values are sent to runed, which keeps them encrypted (see Security). `${NAME}` takes a variable of the',
    "`rune` command's environment, so the file itself can be committed:",
    '',
    '```yaml',
    'secret:',
    '  name: db',
    '  data:',
    '    user: app',
    '    password: ${DB_PASSWORD}',
    '---',
    'configmap:',
    '  name: app',
    '  data: {logLevel: info}',
    '---',
    'service:',
    '  name: api',
    '  command: node',
    '  args: [api.js]',
    '  env:',
    '    DATABASE_URL: "postgres://app:{{secret:db/password}}@127.0.0.1/app"',
    '    LOG_LEVEL: "{{configmap:app/logLevel}}"',
    '  envFrom: [{configmap: app, prefix: APP_}]',
    '  secretMounts: [{secret: db, keys: [password]}]   # $RUNE_SECRETS_DIR/db/password',
    '```',
    '',
    ...fieldTable(SecretDocumentSchema),
    '',
    '### `configmap` fields',
    '',
    ...fieldTable(ConfigMapDocumentSchema),
  ];
  return lines.join('\n') + '\n';
}

function collectRows(node: SchemaNode, base: string, rows: Row[]): void {
  const required = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = base === '' ? name : `${base}.${name}`;
    rows.push({ path, type: typeOf(child), default: defaultOf(child, required.has(name)), description: child.description ?? '' });
    if (child.type === 'object' && child.properties) collectRows(child, path, rows);
    if (child.type === 'array' && child.items?.type === 'object') collectRows(child.items, `${path}[]`, rows);
  }
}

function typeOf(node: SchemaNode): string {
  if (node.typeText) return node.typeText;
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' | ');
  switch (node.type) {
    case 'integer':
      return node.minimum !== undefined && node.maximum !== undefined ? `integer ${node.minimum}–${node.maximum}` : 'integer';
    case 'array':
      if (node.items?.type === 'object') return 'list of objects';
      return `list of ${node.items ? typeOf(node.items) : 'values'}`;
    case 'object':
      return node.properties ? 'object' : 'map of string to string';
    default:
      return node.type ?? 'any';
  }
}

function defaultOf(node: SchemaNode, required: boolean): string {
  if (node.defaultText) return node.defaultText;
  if (node.default !== undefined) return `\`${String(node.default)}\``;
  return required ? 'required' : '';
}

/** Escapes a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * `readme` with the text between the reference markers replaced by `reference`. When the
 * markers are missing, a "Cast file reference" section holding them is appended. Nothing
 * outside the markers changes.
 */
export function replaceReferenceSection(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START_MARKER);
  const end = readme.indexOf(REFERENCE_END_MARKER);
  if (start < 0 || end < start) {
    const sep = readme === '' || readme.endsWith('\n\n') ? '' : readme.endsWith('\n') ? '\n' : '\n\n';
    return `${readme}${sep}## Cast file reference\n\n${REFERENCE_START_MARKER}\n${reference}${REFERENCE_END_MARKER}\n`;
  }
  return readme.slice(0, start + REFERENCE_START_MARKER.length) + '\n' + reference + readme.slice(end);
}

/** The text between the markers of `readme` (without the newline after the start marker), or undefined. */
export function referenceSection(readme: string): string | undefined {
  const start = readme.indexOf(REFERENCE_START_MARKER);
  const end = readme.indexOf(REFERENCE_END_MARKER);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + REFERENCE_START_MARKER.length, end).replace(/^\n/, '');
}
