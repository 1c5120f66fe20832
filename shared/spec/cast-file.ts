/**
 * Cast files: multi-document YAML (or JSON), each document holding exactly one top-level key
 * naming its kind (`service:`/`services:`, `secret:`/`secrets:`, `configmap:`/`configmaps:`;
 * see cast-kinds.ts). `parseCastFile` parses and
 * lints a whole file and reports every problem with the line and column of the offending field
 * (or of its nearest existing parent when the field is missing), so the CLI can print all of
 * them before sending anything:
 *
 *     web.yml:12:5: document 2: health.liveness.port: must be between 1 and 65535
 *
 * Empty documents (`---` alone, comments only) are skipped but still counted, so document
 * numbers match what the author sees.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { castDocumentKeys, castKindForKey, castObjectMeta, type CastObject } from './cast-kinds.js';
import type { EnvLookup } from './env-expansion.js';
import { joinField, parseFieldPath } from './names.js';
import { didYouMeanSuffix } from './suggest.js';

/** One object from a cast file, ready to send, with where it came from. */
export type CastDocument = CastObject & {
  /** 1-based number of the YAML document in its file. */
  index: number;
  /** 1-based line where the object starts. */
  line: number;
};

export interface LintError {
  file: string;
  /** 1-based document number. */
  document: number;
  /** Cast-file field path (`ports[1].port`, `services[0].name`); '' for document-level problems. */
  field: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
}

export interface ParseCastFileOptions {
  /** Namespace for objects that do not name one (the -n flag, the context's, or "default"). */
  defaultNamespace: string;
  /**
   * Set when the user named a namespace explicitly (-n): an object naming a different
   * namespace is then an error, as with kubectl.
   */
  requireNamespace?: string;
  /**
   * Environment for `${NAME}` in secret documents (the CLI passes its own). Without it every
   * `${NAME}` there is an unset-variable error.
   */
  env?: EnvLookup;
}

export interface CastFile {
  documents: CastDocument[];
  errors: LintError[];
}

/** Largest document accepted, in bytes (UTF-8). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

/** `file:line:column: document N: field: message`. */
export function formatLintError(e: LintError): string {
  return `${e.file}:${e.line}:${e.column}: document ${e.document}: ${e.field === '' ? '' : `${e.field}: `}${e.message}`;
}

/** Same as `formatLintError`. */
export const format = formatLintError;

/**
 * Parses and lints the cast file `text` (named `file` in errors). `documents` holds every valid
 * object with defaults applied; `errors` every problem, sorted by position. Callers must not
 * send anything when `errors` is non-empty. Never throws on bad input.
 */
export function parseCastFile(text: string, file: string, options: ParseCastFileOptions): CastFile {
  const lineCounter = new LineCounter();
  const documents: CastDocument[] = [];
  const errors: LintError[] = [];
  const at = (offset: number) => lineCounter.linePos(offset);
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const identities = new Map<string, { document: number; line: number }>();

  parsed.forEach((doc, i) => {
    const index = i + 1;
    const report = (field: string, offset: number, message: string) => {
      const { line, col } = at(offset);
      errors.push({ file, document: index, field, line, column: col, message });
    };

    if (doc.errors.length > 0) {
      for (const e of doc.errors) report('', e.pos[0], `invalid YAML: ${e.message}`);
      return;
    }
    const [start, , end] = doc.range;
    const bytes = Buffer.byteLength(text.slice(start, end), 'utf8');
    if (bytes > MAX_DOCUMENT_BYTES) {
      report('', start, `document is ${(bytes / MAX_DOCUMENT_BYTES).toFixed(1)} MiB; the limit is 1 MiB: split it into several documents`);
      return;
    }
    const contents = doc.contents as Node | null;
    if (contents === null || (isScalar(contents) && (contents.value === null || contents.value === undefined))) return; // empty document
    const expected = castDocumentKeys().join(', ');
    if (!isMap(contents) || contents.items.length === 0) {
      report('', contents.range?.[0] ?? start, `a document must be a mapping with exactly one top-level key: ${expected}`);
      return;
    }
    if (contents.items.length > 1) {
      const keys = contents.items.map((p) => keyName(p.key));
      const second = contents.items[1]!;
      report('', nodeStart(second.key) ?? start, `a document has exactly one top-level key, found ${keys.map((k) => `"${k}"`).join(', ')}: indent the fields under "${keys[0]}:" or start a new document with "---"`);
      return;
    }
    const pair = contents.items[0]!;
    const key = keyName(pair.key);
    const keyOffset = nodeStart(pair.key) ?? start;
    const kind = castKindForKey(key);
    if (!kind) {
      report('', keyOffset, `unknown kind "${key}"; a document starts with one of: ${expected}${didYouMeanSuffix(key, castDocumentKeys())}`);
      return;
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      report('', keyOffset, `cannot read the document: ${(err as Error).message}`);
      return;
    }
    const body = (data as Record<string, unknown>)[key];

    const lintObject = (objectBody: unknown, prefix: Array<string | number>) => {
      const result = kind.parse(objectBody, { defaultNamespace: options.defaultNamespace, env: options.env ?? {} });
      // Fields read as in the file: `ports[0].port` under `service:`, `services[1].ports[0].port` in a list.
      const objectField = prefix.length > 1 ? joinField(String(prefix[0]), prefix[1]!) : String(prefix[0]);
      const fieldName = (field: string) => (field === '' ? objectField : prefix.length === 1 ? field : field.startsWith('[') ? objectField + field : `${objectField}.${field}`);
      const base = prefix.length > 1 ? objectField + '.' : '';
      for (const v of result.violations) {
        const path = [...prefix, ...parseFieldPath(v.field)];
        report(fieldName(v.field), locate(contents, path) ?? keyOffset, v.description);
      }
      if (!result.object) return;
      const objectOffset = locate(contents, prefix) ?? keyOffset;
      const line = at(objectOffset).line;
      if (options.requireNamespace !== undefined && result.namespace !== options.requireNamespace) {
        report(base + 'namespace', locate(contents, [...prefix, 'namespace']) ?? objectOffset, `the document says namespace "${result.namespace}" but -n says "${options.requireNamespace}"; remove one of them`);
        return;
      }
      const identity = `${kind.kind}/${result.namespace}/${result.name}`;
      const first = identities.get(identity);
      if (first) {
        report(base + 'name', locate(contents, [...prefix, 'name']) ?? objectOffset, `${kind.kind} "${result.name}" in namespace "${result.namespace}" is already defined in document ${first.document} (line ${first.line})`);
        return;
      }
      identities.set(identity, { document: index, line });
      documents.push({ ...result.object, index, line });
    };

    if (key === kind.listKey) {
      if (!Array.isArray(body)) {
        report(key, keyOffset, `must be a list of ${kind.key} objects ("- name: ..."); use "${kind.key}:" for a single one`);
        return;
      }
      body.forEach((item, n) => lintObject(item, [key, n]));
    } else {
      if (Array.isArray(body)) {
        report(key, keyOffset, `holds one ${kind.key}; use "${kind.listKey}:" for a list`);
        return;
      }
      if (body === null || body === undefined) {
        report(key, keyOffset, `is empty; give the ${kind.key}'s fields under it, indented`);
        return;
      }
      lintObject(body, [key]);
    }
  });

  errors.sort((a, b) => a.document - b.document || a.line - b.line || a.column - b.column);
  return { documents, errors };
}

/**
 * Errors for objects (same kind, namespace and name) defined in more than one of `files`, each
 * pointing at the later definition. Within one file parseCastFile reports duplicates itself.
 */
export function crossFileDuplicates(files: ReadonlyArray<{ file: string; documents: readonly CastDocument[] }>): LintError[] {
  const seen = new Map<string, { file: string; line: number }>();
  const errors: LintError[] = [];
  for (const { file, documents } of files) {
    const inThisFile = new Map<string, { file: string; line: number }>();
    for (const doc of documents) {
      const meta = castObjectMeta(doc);
      const key = `${doc.kind}/${meta?.namespace}/${meta?.name}`;
      const first = seen.get(key);
      if (first) {
        errors.push({ file, document: doc.index, field: 'name', line: doc.line, column: 1, message: `${doc.kind} "${meta?.name}" in namespace "${meta?.namespace}" is already defined in ${first.file}:${first.line}` });
      } else {
        inThisFile.set(key, { file, line: doc.line });
      }
    }
    for (const [key, where] of inThisFile) seen.set(key, where);
  }
  return errors;
}

function keyName(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function nodeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}

/**
 * The offset of the node at `path` below `root`: the key of the last map entry on the path (so
 * `port: 70000` points at `port`), or the item of a list. When the path leaves the document,
 * the deepest node reached. Undefined only when not even the first segment exists.
 */
function locate(root: Document.Parsed['contents'] | Node, path: ReadonlyArray<string | number>): number | undefined {
  let node: unknown = root;
  let best: number | undefined;
  for (const segment of path) {
    if (isAlias(node)) break;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyName(p.key) === String(segment));
      if (!pair) break;
      best = nodeStart(pair.key) ?? nodeStart(pair.value) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      best = nodeStart(item) ?? best;
      node = item;
    } else {
      break;
    }
  }
  return best;
}
