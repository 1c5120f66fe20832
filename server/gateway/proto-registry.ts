/**
 * The API's descriptors at run time: `dist/rune.binpb` (built by `npm run codegen` from the
 * same protos as shared/gen) loaded into a @bufbuild/protobuf registry. It is the gateway's
 * source of truth for field names, types and the proto3 JSON mapping.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileRegistry, fromBinary, type DescMessage, type DescMethod, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { packageRoot } from '../../shared/version.js';

export const DEFAULT_DESCRIPTOR_SET = (): string => join(packageRoot(), 'dist', 'rune.binpb');

const cache = new Map<string, FileRegistry>();

/** The registry of every message, enum and service in the descriptor set (cached per file). */
export function loadApiRegistry(file = DEFAULT_DESCRIPTOR_SET()): FileRegistry {
  let registry = cache.get(file);
  if (!registry) {
    registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(file)));
    cache.set(file, registry);
  }
  return registry;
}

/** The descriptor of one RPC; throws when the descriptor set is older than the generated code. */
export function methodDescriptor(registry: FileRegistry, service: string, name: string): DescMethod {
  const method = registry.getService(service)?.methods.find((m) => m.name === name);
  if (!method) throw new Error(`${service}/${name} is missing from dist/rune.binpb: it is older than shared/gen; run "npm run codegen"`);
  return method;
}

/** Message types whose proto3 JSON form is not an object of their fields. */
const SPECIAL_JSON = new Set([
  'google.protobuf.Any',
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
  'google.protobuf.FieldMask',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.NullValue',
  'google.protobuf.BoolValue',
  'google.protobuf.BytesValue',
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.Int32Value',
  'google.protobuf.Int64Value',
  'google.protobuf.StringValue',
  'google.protobuf.UInt32Value',
  'google.protobuf.UInt64Value',
]);

/** True for well-known types with a JSON form of their own (a Timestamp is a string). */
export function hasSpecialJson(message: DescMessage): boolean {
  return SPECIAL_JSON.has(message.typeName);
}
