/**
 * Reads a policy file (`rune admin policy create -f FILE`, `-` for stdin) and checks it with the
 * rules runed applies (shared/spec/policy-spec.ts). Problems are reported all at once, each as
 * `file:line:column: field: message`, so nothing is sent while the file is wrong.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import type { Policy } from '../../shared/gen/rune/v1/policy.js';
import { parseFieldPath } from '../../shared/spec/names.js';
import { policyFromDocument } from '../../shared/spec/policy-spec.js';
import { STDIN_ARG } from './global-options.js';

/** A policy file that does not pass the checks; the message lists every problem. Exit code 1. */
export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file} is not a valid policy file:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** The policy in `path` (STDIN_ARG: stdin), or a PolicyFileError listing its problems. */
export async function readPolicyFile(path: string, stdin: () => Promise<string> = readStdin): Promise<Policy> {
  const name = path === STDIN_ARG ? '<stdin>' : path;
  let text: string;
  try {
    text = path === STDIN_ARG ? await stdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${name}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parsePolicyText(text, name);
}

/** Parses and checks policy YAML named `file` in messages. */
export function parsePolicyText(text: string, file: string): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number | undefined) => {
    if (offset === undefined) return file;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) throw new PolicyFileError(file, doc.errors.map((e) => `${where(e.pos[0])}: invalid YAML: ${e.message}`));
  const { policy, violations } = policyFromDocument(doc.toJS({ maxAliasCount: 100 }));
  if (policy) return policy;
  const root = doc.contents as Node | null;
  const problems = violations.map((v) => {
    const path = v.field === 'policy' || !isMap(root) || !root.has('policy') ? [] : ['policy', ...parseFieldPath(v.field)];
    return `${where(locate(doc, path, v.description.startsWith('unknown field')))}: ${v.field}: ${v.description}`;
  });
  throw new PolicyFileError(file, problems);
}

/** The offset of the deepest node along `path` that exists; with `atKey`, of the entry's key (unknown fields point at their name). */
function locate(doc: ReturnType<typeof parseDocument>, path: Array<string | number>, atKey = false): number | undefined {
  const last = path[path.length - 1];
  if (atKey && typeof last === 'string') {
    const parent = (path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true)) as Node | null | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
      if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
    }
  }
  for (let n = path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as Node | null | undefined;
    if (node && typeof node === 'object' && node.range) return node.range[0];
  }
  return undefined;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
