/**
 * How secrets and configmaps print. A secret prints its keys, version and type; its values only
 * when revealed (`rune secret get NAME --reveal`), and then only as the command asked. JSON and
 * YAML are proto3 JSON (bytes as base64), as the API returns them.
 */
import { stringify as stringifyYaml } from 'yaml';
import { ConfigMap } from '../../../shared/gen/rune/v1/configmap.js';
import { Secret } from '../../../shared/gen/rune/v1/secret.js';
import type { OutputFormat } from '../global-options.js';
import { age } from './human-duration.js';
import { renderTable } from './table.js';

const NONE = '<none>';

/** A list (or one object) of secrets in `format`. */
export function formatSecrets(secrets: readonly Secret[], format: OutputFormat, options: { allNamespaces: boolean; single: boolean; now?: Date }): string {
  const now = options.now ?? new Date();
  switch (format) {
    case 'json':
    case 'yaml':
      return formatJson(secrets.map((s) => Secret.toJSON(s)), format, options.single);
    case 'name':
      return secrets.map((s) => `secret/${s.metadata?.name ?? ''}\n`).join('');
    default: {
      const wide = format === 'wide';
      const headers = [...(options.allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'TYPE', 'KEYS', 'VERSION', 'AGE', ...(wide ? ['VERSIONS KEPT', 'LABELS'] : [])];
      const rows = secrets.map((s) => [
        ...(options.allNamespaces ? [s.metadata?.namespace ?? ''] : []),
        s.metadata?.name ?? '',
        s.type || 'opaque',
        s.keys.join(',') || NONE,
        String(s.version),
        age(s.metadata?.createdAt, now),
        ...(wide ? [s.versions.map((v) => v.version).join(',') || NONE, labels(s.metadata?.labels)] : []),
      ]);
      return renderTable(headers, rows);
    }
  }
}

/** Revealed values as a KEY/VALUE table; a value that is not one line of printable UTF-8 shows as its size. */
export function formatRevealed(secret: Secret): string {
  const rows = Object.keys(secret.data)
    .sort()
    .map((key) => {
      const bytes = Buffer.from(secret.data[key]!);
      const text = bytes.toString('utf8');
      const printable = Buffer.from(text, 'utf8').equals(bytes) && !/[\u0000-\u001f\u007f]/.test(text);
      return [key, printable ? text : `<${bytes.length} bytes; print it with --field ${key}>`];
    });
  return renderTable(['KEY', 'VALUE'], rows);
}

export function formatConfigMaps(configMaps: readonly ConfigMap[], format: OutputFormat, options: { allNamespaces: boolean; single: boolean; now?: Date }): string {
  const now = options.now ?? new Date();
  switch (format) {
    case 'json':
    case 'yaml':
      return formatJson(configMaps.map((c) => ConfigMap.toJSON(c)), format, options.single);
    case 'name':
      return configMaps.map((c) => `configmap/${c.metadata?.name ?? ''}\n`).join('');
    default: {
      const wide = format === 'wide';
      const headers = [...(options.allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'KEYS', 'AGE', ...(wide ? ['GENERATION', 'LABELS'] : [])];
      const rows = configMaps.map((c) => [
        ...(options.allNamespaces ? [c.metadata?.namespace ?? ''] : []),
        c.metadata?.name ?? '',
        Object.keys(c.data).sort().join(',') || NONE,
        age(c.metadata?.createdAt, now),
        ...(wide ? [String(c.metadata?.generation ?? 0), labels(c.metadata?.labels)] : []),
      ]);
      return renderTable(headers, rows);
    }
  }
}

function formatJson(items: unknown[], format: 'json' | 'yaml', single: boolean): string {
  const value = single ? items[0] : { items };
  return format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringifyYaml(value);
}

function labels(map: Record<string, string> | undefined): string {
  const entries = Object.entries(map ?? {});
  return entries.length === 0 ? NONE : entries.map(([k, v]) => `${k}=${v}`).join(',');
}
