/**
 * How the admin objects print: subjects, policies, tokens (never a token value: records only)
 * and audit entries, in every output format. Lists print as `{"items": [...]}` in JSON and YAML,
 * like `rune get`; audit entries print one JSON object per line (they stream).
 */
import { stringify as stringifyYaml } from 'yaml';
import { AuditEntry } from '../../../shared/gen/rune/v1/audit.js';
import { Subject, Token } from '../../../shared/gen/rune/v1/auth.js';
import { Policy, type PolicyRule } from '../../../shared/gen/rune/v1/policy.js';
import type { OutputFormat } from '../global-options.js';
import { age } from './human-duration.js';
import { renderTable, StreamingTable } from './table.js';

const NONE = '<none>';

export interface ItemPrinter<T> {
  headers(wide: boolean): string[];
  row(item: T, now: Date, wide: boolean): string[];
  toJSON(item: T): unknown;
  name(item: T): string;
}

export const subjectPrinter: ItemPrinter<Subject> = {
  headers: () => ['NAME', 'TYPE', 'ADMIN', 'POLICIES', 'AGE'],
  row: (s, now) => [s.metadata?.name ?? '', s.type || 'user', s.admin || s.policies.includes('admin') ? 'yes' : 'no', s.policies.join(',') || NONE, age(s.metadata?.createdAt, now)],
  toJSON: (s) => Subject.toJSON(s),
  name: (s) => `subject/${s.metadata?.name ?? ''}`,
};

export const policyPrinter: ItemPrinter<Policy> = {
  headers: (wide) => ['NAME', 'BUILTIN', 'RULES', 'AGE', ...(wide ? ['DESCRIPTION'] : [])],
  row: (p, now, wide) => [p.metadata?.name ?? '', p.builtin ? 'yes' : 'no', String(p.rules.length), age(p.metadata?.createdAt, now), ...(wide ? [p.description || NONE] : [])],
  toJSON: (p) => Policy.toJSON(p),
  name: (p) => `policy/${p.metadata?.name ?? ''}`,
};

/** `active`, `revoked` or `expired` at `now`. */
export function tokenStatus(token: Token, now: Date): string {
  if (token.revoked) return 'revoked';
  if (token.expiresAt && token.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export const tokenPrinter: ItemPrinter<Token> = {
  headers: () => ['ID', 'SUBJECT', 'STATUS', 'EXPIRES', 'AGE', 'DESCRIPTION'],
  row: (t, now) => [t.metadata?.name ?? '', t.subject, tokenStatus(t, now), t.expiresAt ? t.expiresAt.toISOString() : 'never', age(t.metadata?.createdAt, now), t.description || NONE],
  toJSON: (t) => Token.toJSON(t),
  name: (t) => `token/${t.metadata?.name ?? ''}`,
};

export const auditPrinter: ItemPrinter<AuditEntry> = {
  headers: (wide) => ['TIME', 'SUBJECT', 'VERB', 'RESOURCE', 'NAMESPACE', 'NAME', 'OUTCOME', ...(wide ? ['METHOD', 'PEER', 'TOKEN', 'MS'] : [])],
  row: (e, _now, wide) => [
    e.time?.toISOString() ?? '',
    e.subject,
    e.verb,
    e.resource,
    e.namespace || NONE,
    e.name || NONE,
    e.outcome,
    ...(wide ? [e.method, e.peer || NONE, e.tokenId || NONE, String(e.durationMs)] : []),
  ],
  toJSON: (e) => AuditEntry.toJSON(e),
  name: (e) => `audit/${e.time?.toISOString() ?? ''}`,
};

/** A list in `format`: a table (header even when empty), `{"items": [...]}`, or names. */
export function formatItems<T>(printer: ItemPrinter<T>, items: readonly T[], format: OutputFormat, now = new Date()): string {
  switch (format) {
    case 'json':
      return JSON.stringify({ items: items.map((i) => printer.toJSON(i)) }, null, 2) + '\n';
    case 'yaml':
      return stringifyYaml({ items: items.map((i) => printer.toJSON(i)) });
    case 'name':
      return items.map((i) => printer.name(i) + '\n').join('');
    default: {
      const wide = format === 'wide';
      return renderTable(printer.headers(wide), items.map((i) => printer.row(i, now, wide)));
    }
  }
}

/** One rule as a line: `get,list on services,instances in dev`. */
export function ruleText(rule: PolicyRule): string {
  return `${rule.verbs.join(',')} on ${rule.resources.join(',')} in ${rule.namespaces.join(',')}`;
}

/** `rune admin policy get NAME` as text: name, description, built-in, then a table of rules. */
export function describePolicy(policy: Policy): string {
  const lines = [
    `Name:         ${policy.metadata?.name ?? ''}`,
    `Description:  ${policy.description || NONE}`,
    `Built-in:     ${policy.builtin ? 'yes (cannot be changed or deleted)' : 'no'}`,
    'Rules:',
  ];
  const table = renderTable(['VERBS', 'RESOURCES', 'NAMESPACES'], policy.rules.map((r) => [r.verbs.join(','), r.resources.join(','), r.namespaces.join(',')]));
  return lines.join('\n') + '\n' + table.split('\n').filter(Boolean).map((l) => `  ${l}\n`).join('');
}

/** Prints audit entries as they stream: one table row, or one JSON/YAML document, per entry. */
export class AuditStreamPrinter {
  private table: StreamingTable | undefined;

  constructor(private readonly format: OutputFormat) {}

  /** The text for the next entries (the table header comes with the first call). */
  entries(entries: readonly AuditEntry[]): string {
    switch (this.format) {
      case 'json':
        return entries.map((e) => JSON.stringify(AuditEntry.toJSON(e)) + '\n').join('');
      case 'yaml':
        return entries.map((e) => '---\n' + stringifyYaml(AuditEntry.toJSON(e))).join('');
      case 'name':
        return entries.map((e) => auditPrinter.name(e) + '\n').join('');
      default: {
        const wide = this.format === 'wide';
        let out = '';
        if (!this.table) {
          this.table = new StreamingTable(auditPrinter.headers(wide), entries.map((e) => auditPrinter.row(e, new Date(), wide)));
          out += this.table.header();
        }
        return out + entries.map((e) => this.table!.row(auditPrinter.row(e, new Date(), wide))).join('');
      }
    }
  }

  /** What to print when the stream ends: the table header alone if no entry came. */
  end(): string {
    if ((this.format === 'table' || this.format === 'wide') && !this.table) return renderTable(auditPrinter.headers(this.format === 'wide'), []);
    return '';
  }
}
