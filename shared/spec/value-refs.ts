/**
 * References from a service to secrets and configmaps:
 *
 *   env values      `{{secret:NAME/KEY}}`, `{{configmap:NAME/KEY}}`, anywhere in the value and
 *                   as often as needed (`postgres://app:{{secret:db/password}}@db:5432/app`)
 *   envFrom         every key of a secret or configmap, optionally prefixed
 *   secretMounts / configmapMounts   files
 *
 * Pure parsing, shared by the linter (malformed references are errors before anything is sent),
 * runed's injection (server/orchestrator/injection.ts) and the service controller (a change of a
 * referenced object rolls the service).
 */
import type { ServiceSpec } from '../gen/rune/v1/service.js';
import { dataKeyProblem } from './config-data.js';
import { dnsLabelProblem } from './names.js';

export const REF_KINDS = ['secret', 'configmap'] as const;
export type RefKind = (typeof REF_KINDS)[number];

export interface ValueRef {
  kind: RefKind;
  name: string;
  key: string;
}

/** Every `{{...}}` that starts like a reference; checked strictly by parseValueRefs. */
const CANDIDATE = /\{\{\s*(secret|configmap)\s*:([^}]*)\}\}/g;
/** Something that looks meant as a reference but is not closed. */
const OPENED = /\{\{\s*(secret|configmap)\s*:/;

/**
 * The references in an env value, or the problem with the first malformed one (a message that
 * quotes only the reference, never the rest of the value).
 */
export function parseValueRefs(value: string): { refs: ValueRef[]; problem?: string } {
  const refs: ValueRef[] = [];
  let rest = value;
  for (const match of value.matchAll(CANDIDATE)) {
    const kind = match[1] as RefKind;
    const body = match[2]!.trim();
    const slash = body.indexOf('/');
    const example = `{{${kind}:NAME/KEY}}, e.g. {{${kind}:db/password}}`;
    if (slash < 0) return { refs, problem: `"${match[0]}" needs a name and a key: ${example}` };
    const name = body.slice(0, slash);
    const key = body.slice(slash + 1);
    const nameProblem = dnsLabelProblem(name);
    if (nameProblem !== undefined) return { refs, problem: `"${match[0]}": the ${kind} name ${nameProblem}` };
    const keyProblem = dataKeyProblem(key);
    if (keyProblem !== undefined) return { refs, problem: `"${match[0]}": the key ${keyProblem}` };
    refs.push({ kind, name, key });
    rest = rest.replace(match[0], '');
  }
  if (OPENED.test(rest)) return { refs, problem: 'has a "{{secret:" or "{{configmap:" reference that is not closed with "}}"' };
  return { refs };
}

/** `value` with every reference replaced by `lookup(ref)`. Assumes parseValueRefs found no problem. */
export function substituteValueRefs(value: string, lookup: (ref: ValueRef) => string): string {
  return value.replace(CANDIDATE, (_whole, kind: RefKind, body: string) => {
    const trimmed = body.trim();
    const slash = trimmed.indexOf('/');
    return lookup({ kind, name: trimmed.slice(0, slash), key: trimmed.slice(slash + 1) });
  });
}

/** True when some env value of the spec holds a reference (so runed must resolve it). */
export function hasValueRefs(value: string): boolean {
  return OPENED.test(value);
}

/** The names of the secrets and configmaps a service spec uses, each sorted and once. */
export function specObjectRefs(spec: Pick<ServiceSpec, 'env' | 'envFrom' | 'secretMounts' | 'configmapMounts'> | undefined): { secrets: string[]; configmaps: string[] } {
  const secrets = new Set<string>();
  const configmaps = new Set<string>();
  if (spec) {
    for (const value of Object.values(spec.env ?? {})) {
      for (const ref of parseValueRefs(value).refs) (ref.kind === 'secret' ? secrets : configmaps).add(ref.name);
    }
    for (const from of spec.envFrom ?? []) {
      if (from.secret) secrets.add(from.secret);
      if (from.configmap) configmaps.add(from.configmap);
    }
    for (const mount of spec.secretMounts ?? []) if (mount.secret) secrets.add(mount.secret);
    for (const mount of spec.configmapMounts ?? []) if (mount.configmap) configmaps.add(mount.configmap);
  }
  return { secrets: [...secrets].sort(), configmaps: [...configmaps].sort() };
}
