/**
 * Fixture builders: the smallest valid object, with only what a test cares about spelled out.
 * `aService({ name: 'web', scale: 3 })`. Every call returns a fresh object.
 */
import { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { Job } from '../../shared/gen/rune/v1/job.js';

export interface ServiceFixture {
  name?: string;
  /** Default 'dev'. */
  namespace?: string;
  scale?: number;
  command?: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Set for a conditional update; 0 (default) means unconditional. */
  resourceVersion?: number;
}

export function aService(fixture: ServiceFixture = {}): Service {
  return Service.fromPartial({
    metadata: {
      name: fixture.name ?? 'web',
      namespace: fixture.namespace ?? 'dev',
      labels: { ...fixture.labels },
      resourceVersion: fixture.resourceVersion ?? 0,
    },
    spec: {
      runtime: 'process',
      command: fixture.command ?? '/usr/bin/true',
      env: { ...fixture.env },
      scale: fixture.scale ?? 1,
    },
  });
}

export interface NamespaceFixture {
  name?: string;
  labels?: Record<string, string>;
}

export function aNamespace(fixture: NamespaceFixture = {}): Namespace {
  return Namespace.fromPartial({ metadata: { name: fixture.name ?? 'dev', labels: { ...fixture.labels } } });
}

export interface JobFixture {
  name?: string;
  /** Default 'dev'. */
  namespace?: string;
  command?: string;
  args?: string[];
  schedule?: string;
  timezone?: string;
  concurrencyPolicy?: string;
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  env?: Record<string, string>;
  labels?: Record<string, string>;
}

export function aJob(fixture: JobFixture = {}): Job {
  return Job.fromPartial({
    metadata: { name: fixture.name ?? 'batch', namespace: fixture.namespace ?? 'dev', labels: { ...fixture.labels } },
    spec: {
      runtime: 'process',
      command: fixture.command ?? '/usr/bin/true',
      args: fixture.args ?? [],
      env: { ...fixture.env },
      schedule: fixture.schedule ?? '',
      timezone: fixture.timezone ?? '',
      concurrencyPolicy: fixture.concurrencyPolicy ?? '',
      backoffLimit: fixture.backoffLimit,
      activeDeadlineSeconds: fixture.activeDeadlineSeconds,
    },
  });
}
