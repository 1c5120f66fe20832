/**
 * The OpenAPI 3.1 document of the REST API, generated from the same route table the gateway
 * serves and the descriptor set (field names, types and proto comments), at build time
 * (scripts/gen-openapi.mjs writes dist/openapi.json; `GET /openapi.json` serves that file).
 *
 * Schemas follow the gateway's proto3 JSON mapping: camelCase names, int64 as strings, enums by
 * name, Timestamps as RFC 3339 strings, bytes as base64. Path variables bound to nested fields
 * (`{service.metadata.namespace}`) are named by their last segment (`{namespace}`) so two
 * routes over the same path shape share one OpenAPI path.
 */
import type { DescEnum, DescField, DescMessage, DescMethod, DescService, FileRegistry } from '@bufbuild/protobuf';
import { ScalarType } from '@bufbuild/protobuf';
import { Code } from '../../shared/errors.js';
import type { MethodInfo } from '../../shared/api/methods.js';
import { hasSpecialJson, methodDescriptor } from './proto-registry.js';
import { CORS_ALLOW_HEADERS } from './cors.js';
import { RouteTable, resolveFieldPath, type Route } from './route-table.js';

type Schema = Record<string, unknown>;

const ERROR_SCHEMA = 'rune.gateway.Error';
const MAX_QUERY_DEPTH = 3;

export interface OpenApiOptions {
  methods: Iterable<MethodInfo>;
  registry: FileRegistry;
  version: string;
}

export function buildOpenApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const methodList = [...options.methods];
  const routes = RouteTable.fromMethods(methodList, options.registry);
  const schemas = new SchemaSet();
  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Set<string>();

  // Declaration order (services, then methods, then bindings) reads better than match order.
  const ordered = [...routes.routes].sort((a, b) => order(methodList, a) - order(methodList, b));
  for (const route of ordered) {
    const { path, params } = openApiPath(route);
    const desc = methodDescriptor(options.registry, route.rpc.service, route.rpc.name);
    const service = route.rpc.service.split('.').pop()!;
    let operationId = `${service}_${route.rpc.name}`;
    for (let i = 2; operationIds.has(operationId); i++) operationId = `${service}_${route.rpc.name}_${i}`;
    operationIds.add(operationId);

    const parameters: Schema[] = params.map((p) => ({
      name: p.name,
      in: 'path',
      required: true,
      description: p.name === p.field ? comments(resolveFieldPath(route.input, p.field)!) : `Sets \`${p.field}\`. ${comments(resolveFieldPath(route.input, p.field)!) ?? ''}`.trim(),
      schema: schemas.field(resolveFieldPath(route.input, p.field)!, true),
    }));
    if (route.streaming === 'unary' || route.streaming === 'server') {
      for (const q of queryParameters(route, params.map((p) => p.field))) parameters.push({ name: q.name, in: 'query', description: q.description, schema: q.schema, ...(q.repeated ? { style: 'form', explode: true } : {}) });
    }
    if (route.watchRoute) {
      parameters.push({
        name: 'watch',
        in: 'query',
        description: `\`true\`: instead of the list, stream changes exactly as \`GET ${openApiPath(route.watchRoute).path}\` does (kubectl style); its query parameters apply.`,
        schema: { type: 'boolean' },
      });
    }

    const operation: Record<string, unknown> = {
      operationId,
      summary: route.rpc.name,
      description: [comments(desc), streamingNote(route)].filter(Boolean).join('\n\n') || undefined,
      tags: [service],
      parameters: parameters.length ? parameters : undefined,
      requestBody: requestBody(route, schemas),
      responses: responses(route, schemas),
      ...(route.rpc.access?.public ? { security: [] } : {}),
      ...(route.streaming === 'bidi' || route.streaming === 'client' ? { 'x-rune-websocket': true } : {}),
    };
    paths[path] ??= {};
    paths[path][route.verb.toLowerCase()] = stripUndefined(operation);
  }

  for (const [path, description, schema] of BUILTINS) {
    paths[path] = {
      get: {
        operationId: `gateway_${path.replace(/\W/g, '')}`,
        summary: path,
        description,
        tags: ['gateway'],
        security: [],
        responses: { 200: { description: 'OK', content: { [path === '/metrics' ? 'text/plain' : 'application/json']: { schema } } }, ...(path === '/readyz' ? { 503: { description: 'Not ready', content: { 'application/json': { schema } } } } : {}) },
      },
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Rune API',
      version: options.version,
      description:
        'The REST form of the Rune gRPC API (rune.v1), generated from the protos. Every route is a gRPC call through the same authentication, RBAC and rate limit. ' +
        'JSON follows the proto3 JSON mapping; responses include fields at their default values. ' +
        'Errors are `{"code", "status", "message", "details"}` (google.rpc.Status plus the code name). ' +
        `Server streams are newline-delimited JSON (\`{"result": …}\` per line, a final \`{"error": …}\` on failure) or Server-Sent Events with \`Accept: text/event-stream\`; ` +
        'RPCs that stream requests take a WebSocket upgrade at their path (or an NDJSON body). ' +
        `CORS (when enabled) allows the headers ${CORS_ALLOW_HEADERS}.`,
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { apiKey: [] }],
    tags: [...new Set(ordered.map((r) => r.rpc.service.split('.').pop()!)), 'gateway'].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Rune token: `Authorization: Bearer <token>`.' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same token in `X-API-Key`.' },
      },
      responses: { Error: { description: 'An error', content: { 'application/json': { schema: ref(ERROR_SCHEMA) } } } },
      schemas: { ...schemas.all(), [ERROR_SCHEMA]: errorSchema() },
    },
  };
}

const BUILTINS: [string, string, Schema][] = [
  ['/healthz', 'Liveness: 200 while the process runs. No credentials.', { type: 'object', properties: { status: { type: 'string' } } }],
  [
    '/readyz',
    'Readiness: 200 while the store answers reads and the controllers run, else 503 with the failing checks. No credentials.',
    { type: 'object', properties: { status: { type: 'string', enum: ['ready', 'not ready'] }, checks: { type: 'object', additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, message: { type: 'string' } } } } } },
  ],
  ['/version', 'The version of runed. No credentials.', { type: 'object', properties: { version: { type: 'string' } } }],
  ['/openapi.json', 'This document. No credentials.', { type: 'object' }],
  ['/metrics', 'Prometheus metrics (text exposition format). No credentials.', { type: 'string' }],
];

function order(methods: MethodInfo[], route: Route): number {
  return methods.indexOf(route.rpc);
}

interface PathParam {
  name: string;
  field: string;
}

/** The OpenAPI path of a route (`/v1/namespaces/{namespace}/services:watch`) and its parameters. */
export function openApiPath(route: Route): { path: string; params: PathParam[] } {
  const { template } = route;
  const short = template.variables.map((v) => v.field.split('.').pop()!);
  const names = template.variables.map((v, i) => (short.filter((s) => s === short[i]).length > 1 ? v.field : short[i]!));
  const parts: string[] = [];
  let anonymous = 0;
  for (let i = 0; i < template.segments.length; i++) {
    const v = template.variables.findIndex((x) => x.start === i);
    if (v >= 0) {
      parts.push(`{${names[v]}}`);
      i = template.variables[v]!.end - 1;
      continue;
    }
    const seg = template.segments[i]!;
    parts.push(seg.kind === 'literal' ? seg.value : `{_${++anonymous}}`);
  }
  const path = `/${parts.join('/')}${template.verb ? `:${template.verb}` : ''}`;
  return { path, params: template.variables.map((v, i) => ({ name: names[i]!, field: v.field })) };
}

interface QueryParam {
  name: string;
  description: string | undefined;
  schema: Schema;
  repeated: boolean;
}

/** Leaf fields a query string may set: not bound by the path or the body, through singular messages. */
function queryParameters(route: Route, pathFields: string[]): QueryParam[] {
  if (route.body === '*') return [];
  const out: QueryParam[] = [];
  const schemas = new SchemaSet();
  const walk = (message: DescMessage, prefix: string, protoPrefix: string, depth: number, stack: string[]) => {
    for (const field of message.fields) {
      const protoPath = protoPrefix ? `${protoPrefix}.${field.name}` : field.name;
      const name = prefix ? `${prefix}.${field.jsonName}` : field.jsonName;
      if (pathFields.includes(protoPath) || (route.body && (protoPath === route.body || protoPath.startsWith(`${route.body}.`)))) continue;
      if (field.fieldKind === 'map') continue;
      if (field.fieldKind === 'message' && !hasSpecialJson(field.message)) {
        if (depth < MAX_QUERY_DEPTH && !stack.includes(field.message.typeName)) walk(field.message, name, protoPath, depth + 1, [...stack, field.message.typeName]);
        continue;
      }
      if (field.fieldKind === 'list' && field.listKind === 'message' && !hasSpecialJson(field.message)) continue;
      out.push({ name, description: comments(field), schema: schemas.field(field, true), repeated: field.fieldKind === 'list' });
    }
  };
  walk(route.input, '', '', 0, [route.input.typeName]);
  return out;
}

function requestBody(route: Route, schemas: SchemaSet): Schema | undefined {
  if (route.streaming === 'client' || route.streaming === 'bidi') {
    return {
      description: `Newline-delimited JSON: one ${route.input.typeName} per line (or open a WebSocket at this path and send one per message).`,
      content: { 'application/x-ndjson': { schema: schemas.message(route.input) } },
    };
  }
  if (!route.body) return undefined;
  const schema = route.body === '*' ? schemas.message(route.input) : schemas.field(resolveFieldPath(route.input, route.body)!, false);
  return { required: route.body === '*' ? false : true, content: { 'application/json': { schema } } };
}

function responses(route: Route, schemas: SchemaSet): Schema {
  const output = route.responseBody ? schemas.field(resolveFieldPath(route.output, route.responseBody)!, false) : schemas.message(route.output);
  const stream = route.streaming === 'server' || route.streaming === 'bidi';
  const ok = stream
    ? {
        description: `A stream of ${route.output.typeName}.`,
        content: {
          'application/x-ndjson': { schema: { type: 'object', properties: { result: output, error: ref(ERROR_SCHEMA) }, description: 'One object per line: {"result": …}, or a final {"error": …}.' } },
          'text/event-stream': { schema: { type: 'string', description: 'Server-Sent Events: `data: <message JSON>` per message; a final `event: error`.' } },
        },
      }
    : { description: route.output.typeName, content: { 'application/json': { schema: output } } };
  return { 200: ok, default: { $ref: '#/components/responses/Error' } };
}

function streamingNote(route: Route): string | undefined {
  switch (route.streaming) {
    case 'server':
      return 'Streams: newline-delimited JSON, or Server-Sent Events with `Accept: text/event-stream`, or a WebSocket upgrade at this path.';
    case 'bidi':
    case 'client':
      return 'Streams requests: open a WebSocket at this path (`GET` with `Upgrade: websocket`) and send one request message (JSON) per WebSocket message; responses arrive as `{"result": …}` messages. A plain request takes an NDJSON body of requests.';
    default:
      return undefined;
  }
}

function ref(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

function errorSchema(): Schema {
  return {
    type: 'object',
    description: 'google.rpc.Status in proto3 JSON, plus the name of its code.',
    properties: {
      code: { type: 'integer', description: 'The canonical gRPC code (5 = NOT_FOUND).' },
      status: { type: 'string', enum: Object.keys(Code), description: 'The name of `code`.' },
      message: { type: 'string' },
      details: {
        type: 'array',
        items: { type: 'object', properties: { '@type': { type: 'string' } }, additionalProperties: true, description: 'A google.protobuf.Any, e.g. google.rpc.BadRequest with fieldViolations.' },
      },
    },
    required: ['code', 'status', 'message', 'details'],
  };
}

/** Component schemas for every message and enum reached, by full proto name. */
class SchemaSet {
  private readonly schemas = new Map<string, Schema>();

  all(): Record<string, Schema> {
    return Object.fromEntries([...this.schemas].sort(([a], [b]) => a.localeCompare(b)));
  }

  message(message: DescMessage): Schema {
    const special = specialSchema(message);
    if (special) return special;
    if (!this.schemas.has(message.typeName)) {
      const schema: Schema = { type: 'object', additionalProperties: false };
      this.schemas.set(message.typeName, schema); // before the fields: recursive types
      const properties: Record<string, Schema> = {};
      for (const field of message.fields) properties[field.jsonName] = this.field(field, false);
      schema.properties = properties;
      const notes = [comments(message), ...message.oneofs.map((o) => `At most one of ${o.fields.map((f) => `\`${f.jsonName}\``).join(', ')} (oneof ${o.name}).`)].filter(Boolean);
      if (notes.length) schema.description = notes.join('\n\n');
    }
    return ref(message.typeName);
  }

  enumeration(desc: DescEnum): Schema {
    if (!this.schemas.has(desc.typeName)) {
      this.schemas.set(desc.typeName, { type: 'string', enum: desc.values.map((v) => v.name), ...(comments(desc) ? { description: comments(desc) } : {}) });
    }
    return ref(desc.typeName);
  }

  /** A field's schema; `bare` leaves out its description (parameters carry their own). */
  field(field: DescField, bare: boolean): Schema {
    let schema: Schema;
    switch (field.fieldKind) {
      case 'scalar':
        schema = scalarSchema(field.scalar);
        break;
      case 'enum':
        schema = this.enumeration(field.enum);
        break;
      case 'message':
        schema = this.message(field.message);
        break;
      case 'list':
        schema = { type: 'array', items: field.listKind === 'scalar' ? scalarSchema(field.scalar) : field.listKind === 'enum' ? this.enumeration(field.enum) : this.message(field.message) };
        break;
      case 'map':
        schema = { type: 'object', additionalProperties: field.mapKind === 'scalar' ? scalarSchema(field.scalar) : field.mapKind === 'enum' ? this.enumeration(field.enum) : this.message(field.message) };
        break;
    }
    const description = bare ? undefined : comments(field);
    if (!description) return schema;
    // A $ref with siblings is valid in 3.1 (JSON Schema 2020-12).
    return { ...schema, description };
  }
}

function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.BYTES:
      return { type: 'string', format: 'byte', contentEncoding: 'base64' };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: 'integer', format: 'int32' };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: 'integer', format: 'int64', minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: 'string', format: 'int64', pattern: '^-?[0-9]+$', description: 'A 64-bit integer as a decimal string.' };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: 'string', format: 'uint64', pattern: '^[0-9]+$', description: 'A 64-bit unsigned integer as a decimal string.' };
    case ScalarType.FLOAT:
      return { type: 'number', format: 'float' };
    case ScalarType.DOUBLE:
      return { type: 'number', format: 'double' };
  }
}

function specialSchema(message: DescMessage): Schema | undefined {
  if (!hasSpecialJson(message)) return undefined;
  switch (message.typeName) {
    case 'google.protobuf.Timestamp':
      return { type: 'string', format: 'date-time', description: 'RFC 3339, e.g. 2024-05-01T12:00:00Z.' };
    case 'google.protobuf.Duration':
      return { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$', description: 'Seconds with an "s" suffix, e.g. "1.5s".' };
    case 'google.protobuf.FieldMask':
      return { type: 'string', description: 'Comma-separated camelCase field paths.' };
    case 'google.protobuf.Any':
      return { type: 'object', properties: { '@type': { type: 'string' } }, required: ['@type'], additionalProperties: true };
    case 'google.protobuf.Struct':
      return { type: 'object', additionalProperties: true };
    case 'google.protobuf.ListValue':
      return { type: 'array' };
    case 'google.protobuf.Value':
      return {};
    case 'google.protobuf.BoolValue':
      return { type: ['boolean', 'null'] };
    case 'google.protobuf.StringValue':
    case 'google.protobuf.BytesValue':
      return { type: ['string', 'null'] };
    case 'google.protobuf.Int64Value':
    case 'google.protobuf.UInt64Value':
      return { type: ['string', 'null'], pattern: '^-?[0-9]+$' };
    default:
      return { type: ['number', 'null'] };
  }
}

/** The proto's leading comment of a message, enum, field or method, one paragraph per blank line. */
function comments(desc: Described): string | undefined {
  const file = desc.kind === 'field' || desc.kind === 'rpc' ? desc.parent.file : desc.file;
  const path = sourcePath(desc);
  const location = file.proto.sourceCodeInfo?.location.find((l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]));
  const text = location?.leadingComments?.trim();
  if (!text) return undefined;
  return text
    .split('\n')
    .map((l) => l.trim())
    .join('\n')
    .replace(/([^\n])\n(?!\n)/g, '$1 ');
}

type Described = DescMessage | DescEnum | DescField | DescMethod | DescService;

/** The descriptor's path in its FileDescriptorProto (as SourceCodeInfo keys locations). */
function sourcePath(desc: Described): number[] {
  switch (desc.kind) {
    case 'message':
      return desc.parent ? [...sourcePath(desc.parent), 3, desc.parent.proto.nestedType.indexOf(desc.proto)] : [4, desc.file.proto.messageType.indexOf(desc.proto)];
    case 'enum':
      return desc.parent ? [...sourcePath(desc.parent), 4, desc.parent.proto.enumType.indexOf(desc.proto)] : [5, desc.file.proto.enumType.indexOf(desc.proto)];
    case 'service':
      return [6, desc.file.proto.service.indexOf(desc.proto)];
    case 'field':
      return [...sourcePath(desc.parent), 2, desc.parent.proto.field.indexOf(desc.proto)];
    case 'rpc':
      return [...sourcePath(desc.parent), 2, desc.parent.proto.method.indexOf(desc.proto)];
  }
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
