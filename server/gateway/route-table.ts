/**
 * The REST routes, built once at start from every RPC's google.api.http rule (its binding and
 * additional bindings) and the descriptors of its messages. Nothing here names an RPC: an RPC
 * added to the protos is routed as soon as the code is generated again.
 *
 * Matching prefers the most specific template (more literal segments, a custom verb); a path
 * that matches only under other HTTP methods is reported with those methods (405 + Allow).
 * A list route (`GET /v1/…/services`) with a sibling `GET /v1/…/services:watch` also serves that
 * watch for `?watch=true`, as kubectl users expect.
 */
import type { DescField, DescMessage, FileRegistry } from '@bufbuild/protobuf';
import type { HttpRule } from '../../shared/gen/google/api/http.js';
import type { MethodInfo } from '../../shared/api/methods.js';
import { findField } from './proto-json.js';
import { displayTemplate, matchTemplate, parseTemplate, specificity, splitPath, TemplateError, type PathTemplate } from './path-template.js';
import { methodDescriptor } from './proto-registry.js';

export const STREAMING = ['unary', 'server', 'client', 'bidi'] as const;
export type Streaming = (typeof STREAMING)[number];

export interface Route {
  rpc: MethodInfo;
  /** Upper-case HTTP method. */
  verb: string;
  template: PathTemplate;
  /** The template with plain `{field}` variables: a stable label for docs and metrics. */
  pattern: string;
  /** '' (no body), '*' (the whole request) or a request field path. */
  body: string;
  /** '' (the whole response) or a response field path. */
  responseBody: string;
  input: DescMessage;
  output: DescMessage;
  streaming: Streaming;
  /** For a list route: the `:watch` route `?watch=true` switches to. */
  watchRoute?: Route;
}

export type RouteMatch =
  | { kind: 'route'; route: Route; values: Map<string, string> }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

export class RouteTable {
  /** Most specific first. */
  readonly routes: readonly Route[];

  constructor(routes: Route[]) {
    this.routes = [...routes].sort((a, b) => specificity(b.template) - specificity(a.template));
  }

  /** Builds every route of every RPC that declares an http rule; throws on a malformed rule. */
  static fromMethods(methods: Iterable<MethodInfo>, registry: FileRegistry): RouteTable {
    const routes: Route[] = [];
    const seen = new Map<string, string>();
    for (const rpc of methods) {
      if (!rpc.http) continue;
      const desc = methodDescriptor(registry, rpc.service, rpc.name);
      for (const rule of [rpc.http, ...rpc.http.additionalBindings]) {
        const route = buildRoute(rpc, rule, desc.input, desc.output);
        const key = `${route.verb} ${route.template.segments.map((s) => (s.kind === 'literal' ? s.value : '*')).join('/')}:${route.template.verb}`;
        const other = seen.get(key);
        if (other) throw new TemplateError(`${rpc.path}: route ${route.verb} ${route.pattern} is also the route of ${other}`);
        seen.set(key, rpc.path);
        routes.push(route);
      }
    }
    for (const list of routes) {
      if (list.verb !== 'GET' || list.template.verb) continue;
      list.watchRoute = routes.find((w) => w.verb === 'GET' && w.template.source === `${list.template.source}:watch` && w.streaming === 'server');
    }
    return new RouteTable(routes);
  }

  match(verb: string, path: string): RouteMatch {
    const split = splitPath(path);
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const values = matchTemplate(route.template, split);
      if (!values) continue;
      if (route.verb === verb) return { kind: 'route', route, values };
      allowed.add(route.verb);
    }
    return allowed.size > 0 ? { kind: 'method-not-allowed', allowed: [...allowed].sort() } : { kind: 'not-found' };
  }

  /** Every route whose template matches `path`, whatever its method (for WebSocket upgrades). */
  matchAny(path: string): { route: Route; values: Map<string, string> } | undefined {
    const split = splitPath(path);
    for (const route of this.routes) {
      const values = matchTemplate(route.template, split);
      if (values) return { route, values };
    }
    return undefined;
  }
}

function buildRoute(rpc: MethodInfo, rule: HttpRule, input: DescMessage, output: DescMessage): Route {
  const binding = ruleBinding(rule);
  if (!binding) throw new TemplateError(`${rpc.path}: its google.api.http rule names no method and path`);
  const template = parseTemplate(binding.path);
  for (const v of template.variables) {
    const field = resolveFieldPath(input, v.field);
    if (!field) throw new TemplateError(`${rpc.path}: path variable {${v.field}} names no field of ${input.typeName}`);
    if (field.fieldKind !== 'scalar' && field.fieldKind !== 'enum') throw new TemplateError(`${rpc.path}: path variable {${v.field}} must be a singular scalar field`);
  }
  if (rule.body && rule.body !== '*' && !resolveFieldPath(input, rule.body)) throw new TemplateError(`${rpc.path}: body "${rule.body}" names no field of ${input.typeName}`);
  if (rule.responseBody && !resolveFieldPath(output, rule.responseBody)) throw new TemplateError(`${rpc.path}: response_body "${rule.responseBody}" names no field of ${output.typeName}`);
  return {
    rpc,
    verb: binding.verb,
    template,
    pattern: displayTemplate(template),
    body: rule.body,
    responseBody: rule.responseBody,
    input,
    output,
    streaming: rpc.requestStream ? (rpc.responseStream ? 'bidi' : 'client') : rpc.responseStream ? 'server' : 'unary',
  };
}

function ruleBinding(rule: HttpRule): { verb: string; path: string } | undefined {
  if (rule.get) return { verb: 'GET', path: rule.get };
  if (rule.put) return { verb: 'PUT', path: rule.put };
  if (rule.post) return { verb: 'POST', path: rule.post };
  if (rule.delete) return { verb: 'DELETE', path: rule.delete };
  if (rule.patch) return { verb: 'PATCH', path: rule.patch };
  if (rule.custom?.kind && rule.custom.path) return { verb: rule.custom.kind.toUpperCase(), path: rule.custom.path };
  return undefined;
}

/** The field at a dotted path of proto or JSON names, through singular message fields. */
export function resolveFieldPath(message: DescMessage, path: string): DescField | undefined {
  let current: DescMessage | undefined = message;
  let field: DescField | undefined;
  for (const part of path.split('.')) {
    if (!current) return undefined;
    field = findField(current, part);
    if (!field) return undefined;
    current = field.fieldKind === 'message' ? field.message : undefined;
  }
  return field;
}
