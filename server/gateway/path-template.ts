/**
 * google.api.http path templates: parse once, match many times.
 *
 *   Template = "/" Segment { "/" Segment } [ ":" Verb ]
 *   Segment  = "*" | "**" | LITERAL | "{" FieldPath [ "=" Segment { "/" Segment } ] "}"
 *
 * `{name}` is `{name=*}`: one path segment. `**` matches the rest of the path (one or more
 * segments) and may appear once, as the last segment group. A custom verb (`:watch`) is part of
 * the last segment of a request path: `/v1/namespaces/dev/services:watch`.
 */

export type Segment = { kind: 'literal'; value: string } | { kind: 'one' } | { kind: 'rest' };

export interface Variable {
  /** Dotted request field path, e.g. `service.metadata.namespace`. */
  field: string;
  /** Index of the variable's first segment. */
  start: number;
  /** Index after its last segment. */
  end: number;
}

export interface PathTemplate {
  /** The template as written in the proto. */
  source: string;
  segments: Segment[];
  variables: Variable[];
  /** Custom verb without the colon, or ''. */
  verb: string;
}

/** A malformed template: a proto annotation error, reported at start-up. */
export class TemplateError extends Error {}

export function parseTemplate(source: string): PathTemplate {
  if (!source.startsWith('/')) throw new TemplateError(`path template "${source}" must start with "/"`);
  let body = source.slice(1);
  let verb = '';
  // The verb follows the last ':' outside braces and after the last '/'.
  const lastSlash = body.lastIndexOf('/');
  const lastBrace = body.lastIndexOf('}');
  const colon = body.lastIndexOf(':');
  if (colon > lastSlash && colon > lastBrace) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
    if (!verb) throw new TemplateError(`path template "${source}" has an empty verb`);
  }
  const segments: Segment[] = [];
  const variables: Variable[] = [];
  const parts: string[] = [];
  // Split on '/' outside braces.
  let current = '';
  let depth = 0;
  for (const ch of body) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (ch === '/' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  for (const part of parts) {
    if (part.startsWith('{')) {
      if (!part.endsWith('}')) throw new TemplateError(`path template "${source}": unclosed variable in "${part}"`);
      const inner = part.slice(1, -1);
      const eq = inner.indexOf('=');
      const field = eq < 0 ? inner : inner.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(field)) throw new TemplateError(`path template "${source}": bad field path "${field}"`);
      const sub = eq < 0 ? ['*'] : inner.slice(eq + 1).split('/');
      const start = segments.length;
      for (const s of sub) segments.push(plainSegment(s, source));
      variables.push({ field, start, end: segments.length });
    } else {
      segments.push(plainSegment(part, source));
    }
  }
  const rest = segments.findIndex((s) => s.kind === 'rest');
  if (rest >= 0 && rest !== segments.length - 1) throw new TemplateError(`path template "${source}": "**" must be the last segment`);
  return { source, segments, variables, verb };
}

function plainSegment(text: string, source: string): Segment {
  if (text === '*') return { kind: 'one' };
  if (text === '**') return { kind: 'rest' };
  if (!text || /[{}*]/.test(text)) throw new TemplateError(`path template "${source}": bad segment "${text}"`);
  return { kind: 'literal', value: text };
}

/** A request path, split once and shared by every template it is matched against. */
export interface RequestPath {
  /** Raw (still percent-encoded) segments after the leading '/'. */
  segments: string[];
}

export function splitPath(path: string): RequestPath {
  return { segments: path.replace(/^\//, '').split('/') };
}

/** Thrown for a percent-encoding that does not decode: the client gets a 400. */
export class PathDecodeError extends Error {}

/**
 * Variable values (field path → decoded string) when `path` matches, else undefined.
 * Single-segment values are fully percent-decoded; multi-segment values keep `%2F`.
 */
export function matchTemplate(template: PathTemplate, path: RequestPath): Map<string, string> | undefined {
  let segments = path.segments;
  if (template.verb) {
    const last = segments[segments.length - 1] ?? '';
    const suffix = `:${template.verb}`;
    if (!last.endsWith(suffix)) return undefined;
    segments = [...segments.slice(0, -1), last.slice(0, -suffix.length)];
  }
  const t = template.segments;
  const hasRest = t.length > 0 && t[t.length - 1]!.kind === 'rest';
  if (hasRest ? segments.length < t.length : segments.length !== t.length) return undefined;
  for (let i = 0; i < t.length; i++) {
    const seg = t[i]!;
    const value = segments[i]!;
    if (seg.kind === 'literal' ? value !== seg.value : value === '') return undefined;
  }
  const values = new Map<string, string>();
  for (const v of template.variables) {
    const end = hasRest && v.end === t.length ? segments.length : v.end;
    const raw = segments.slice(v.start, end);
    values.set(v.field, raw.length === 1 ? decode(raw[0]!) : raw.map((s) => decode(s.replace(/%2F/gi, '%252F'))).join('/'));
  }
  return values;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new PathDecodeError(`path segment "${segment}" is not valid percent-encoding`);
  }
}

/** How specific a template is: literal segments count most, then a verb, then fixed length. */
export function specificity(template: PathTemplate): number {
  const literals = template.segments.filter((s) => s.kind === 'literal').length;
  const rest = template.segments.some((s) => s.kind === 'rest') ? 0 : 1;
  return literals * 4 + (template.verb ? 2 : 0) + rest;
}

/** The template with variables written `{field}` (their patterns dropped), for docs and metrics. */
export function displayTemplate(template: PathTemplate): string {
  return template.source.replace(/\{([^}=]+)=[^}]*\}/g, '{$1}');
}
