/**
 * Wires the controllers: informers on services, instances and namespaces feed keyed work queues
 * (watch events only enqueue keys); the runner's exit reports and the health monitor's findings
 * enqueue instance keys.
 */
import type { Logger } from 'pino';
import type { ConfigMap } from '../../shared/gen/rune/v1/configmap.js';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { Job } from '../../shared/gen/rune/v1/job.js';
import type { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import type { Run } from '../../shared/gen/rune/v1/run.js';
import type { SecretRecord } from '../../shared/gen/rune/v1/secret.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { specObjectRefs } from '../../shared/spec/value-refs.js';
import type { KekLookup } from '../crypto/envelope.js';
import { Informer } from '../store/informer.js';
import { LazyInformer } from '../store/lazy-informer.js';
import type { Store } from '../store/store.js';
import type { Runner } from '../runner/runner.js';
import { HealthMonitor } from './health-monitor.js';
import { InstanceController, instanceKey } from './instance-controller.js';
import { JobController, jobKey } from './job-controller.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './instance-plan.js';
import { Injector } from './injection.js';
import { NamespaceController } from './namespace-controller.js';
import { RunController, runKey } from './run-controller.js';
import { DEFAULT_RETRY } from './run-plan.js';
import { isTerminal } from '../domain/runs.js';
import { ScheduleTimer } from './schedule-timer.js';
import { ServiceController } from './service-controller.js';
import { DEFAULT_ROLLOUT, isServiceAtRest, type ReferenceVersions, type RolloutOptions } from './service-plan.js';
import { WorkQueue, type WorkQueueMetrics } from './work-queue.js';

export interface OrchestratorOptions {
  store: Store;
  runner: Runner;
  log: Logger;
  dataDir: string;
  /** Opens the secrets injected into instances. */
  keyring: KekLookup;
  backoff?: Partial<BackoffOptions>;
  rollout?: Partial<RolloutOptions>;
  /** Runs of jobs: the first retry delay after a failed attempt (default 10 s, doubling, capped at 5 min). */
  jobs?: { retryBackoffMs?: number };
  /** Queue depth, reconcile durations and errors per queue, and restarts (none by default). */
  metrics?: OrchestratorMetrics;
}

export interface OrchestratorMetrics extends WorkQueueMetrics {
  /** The restart policy scheduled a restart. */
  restarted(): void;
}

export interface Orchestrator {
  instances: Informer<Instance>;
  /** Services are read from the store, not copied into memory (there may be a million). */
  services: LazyInformer<Service>;
  /** Jobs and runs as the job controller sees them (for cleanUpRuns in housekeeping). */
  jobs: Informer<Job>;
  runs: Informer<Run>;
  /** Number of processes supervised (instances and runs). */
  readonly supervised: number;
  /** Keys (`namespace/id`) of the runs whose process this runed supervises. */
  activeRuns(): string[];
  /** Resolves when every queue is empty (for tests and readiness). */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOrchestrator(options: OrchestratorOptions): Promise<Orchestrator> {
  const { store, runner, log, metrics } = options;
  const services = LazyInformer.start<Service>(store, 'services');
  const [instances, namespaces, secrets, configMaps] = await Promise.all([
    Informer.start<Instance>(store, 'instances'),
    Informer.start<Namespace>(store, 'namespaces'),
    // Encrypted records: only their versions are read here (for template hashes), never values.
    Informer.start<SecretRecord>(store, 'secrets'),
    Informer.start<ConfigMap>(store, 'configmaps'),
  ]);
  const queueLog = log.child({ component: 'orchestrator' });
  const [jobs, runs] = await Promise.all([Informer.start<Job>(store, 'jobs'), Informer.start<Run>(store, 'runs')]);
  const injector = new Injector({ store, keyring: options.keyring, dataDir: options.dataDir, log: queueLog });
  // Mount dirs of instances that no longer exist (runed died before removing them).
  await injector.sweep((namespace, name) => instances.get(namespace, name) !== undefined || isActiveRun(runs.get(namespace, name)));
  const references = (service: Service): ReferenceVersions => {
    const namespace = service.metadata!.namespace;
    const refs = specObjectRefs(service.spec);
    const versions: ReferenceVersions = {};
    for (const name of refs.secrets) {
      const secret = secrets.get(namespace, name);
      versions[`secret/${name}`] = secret ? `${secret.metadata!.uid}:${secret.versions.at(-1)?.version ?? 0}` : 'missing';
    }
    for (const name of refs.configmaps) {
      const configMap = configMaps.get(namespace, name);
      versions[`configmap/${name}`] = configMap ? `${configMap.metadata!.uid}:${configMap.metadata!.generation}` : 'missing';
    }
    return versions;
  };
  let instanceQueue: WorkQueue;
  const health = new HealthMonitor((key) => instanceQueue.add(key));
  const instanceController = new InstanceController(
    { store, runner, services, instances, health, injector, log: queueLog, dataDir: options.dataDir, backoff: { ...DEFAULT_BACKOFF, ...options.backoff }, onRestart: metrics && (() => metrics.restarted()) },
    (key) => instanceQueue.add(key),
  );
  // Wide: concurrent starts share group commits (one fsync for many status writes).
  instanceQueue = new WorkQueue('instances', (key) => instanceController.reconcile(key), { concurrency: 32, log: queueLog, metrics });
  const serviceController = new ServiceController({ store, services, instances, rollout: { ...DEFAULT_ROLLOUT, ...options.rollout }, log: queueLog, references });
  const serviceQueue = new WorkQueue('services', (key) => serviceController.reconcile(key), { concurrency: 4, log: queueLog, metrics });
  let jobQueue: WorkQueue;
  const scheduleTimer = new ScheduleTimer((key) => jobQueue.add(key));
  const jobController = new JobController({ store, jobs, runs, namespaces, timer: scheduleTimer, log: queueLog });
  jobQueue = new WorkQueue('jobs', (key) => jobController.reconcile(key), { concurrency: 8, log: queueLog, metrics });
  const namespaceController = new NamespaceController({ store, namespaces, services, instances, jobs, runs });
  const namespaceQueue = new WorkQueue('namespaces', (key) => namespaceController.reconcile(key), { concurrency: 1, log: queueLog, metrics });
  let runQueue: WorkQueue;
  const runController = new RunController(
    { store, runner, runs, injector, log: queueLog, dataDir: options.dataDir, retry: { ...DEFAULT_RETRY, ...options.jobs } },
    (key) => runQueue.add(key),
  );
  runQueue = new WorkQueue('runs', (key) => runController.reconcile(key), { concurrency: 32, log: queueLog, metrics });

  const key = (o: { metadata?: { namespace: string; name: string } }) => instanceKey(o.metadata!.namespace, o.metadata!.name);
  // Instances depend on their service's spec, deletion mark and existence, not on its status:
  // a status write (ready counts, after every instance start or exit) wakes no instance.
  const serviceShapes = new Map<string, string>();
  services.onChange((service, type) => {
    serviceQueue.add(key(service));
    const ns = service.metadata!.namespace;
    const meta = service.metadata!;
    const shape = `${meta.uid}:${meta.generation}:${meta.deletionTimestamp ? 'deleting' : ''}`;
    const changed = type === 'DELETED' || serviceShapes.get(key(service)) !== shape;
    if (type === 'DELETED') serviceShapes.delete(key(service));
    else serviceShapes.set(key(service), shape);
    if (changed) for (const i of instances.filter((i) => i.metadata?.namespace === ns && i.spec?.service === service.metadata!.name)) instanceQueue.add(key(i));
    namespaceQueue.add(ns);
  });
  // Instances waiting for their dependencies, by namespace, kept from the events themselves
  // (not a scan of every instance per event: starting 500 instances made that quadratic).
  const waiting = new Map<string, Set<string>>();
  instances.onChange((instance, type) => {
    const ns = instance.metadata!.namespace;
    if (type !== 'DELETED') instanceQueue.add(key(instance));
    serviceQueue.add(instanceKey(ns, instance.spec?.service ?? ''));
    const waiters = waiting.get(ns) ?? new Set<string>();
    if (type !== 'DELETED' && instance.status?.reason === 'WaitingForDependencies') waiters.add(key(instance));
    else waiters.delete(key(instance));
    if (waiters.size > 0) waiting.set(ns, waiters);
    else waiting.delete(ns);
    // Dependents waiting for a ready instance in this namespace get another look.
    for (const waiter of waiters) instanceQueue.add(waiter);
    if (type === 'DELETED') namespaceQueue.add(ns);
  });
  namespaces.onChange((namespace) => namespaceQueue.add(namespace.metadata!.name));
  // A job's own changes and its runs' changes (an end frees Forbid, counts against history
  // limits, lets a deletion go on); the schedule timer adds the rest.
  jobs.onChange((job, type) => {
    jobQueue.add(jobKey(job.metadata!.namespace, job.metadata!.name));
    if (type === 'DELETED') namespaceQueue.add(job.metadata!.namespace);
  });
  runs.onChange((run, type) => {
    jobQueue.add(jobKey(run.metadata!.namespace, run.spec?.job ?? ''));
    if (type === 'DELETED') namespaceQueue.add(run.metadata!.namespace);
  });
  // The run controller executes runs (and stops the process of one deleted while active).
  runs.onChange((run) => runQueue.add(runKey(run.metadata!.namespace, run.metadata!.name)));
  // A namespace marked or gone: its jobs are deleted with it.
  namespaces.onChange((namespace, type) => {
    if (type !== 'DELETED' && !namespace.metadata?.deletionTimestamp) return;
    for (const j of jobs.filter((j) => j.metadata?.namespace === namespace.metadata!.name)) jobQueue.add(jobKey(j.metadata!.namespace, j.metadata!.name));
  });
  // A secret or configmap changed: the services using it get another look (their template hash
  // includes its version, so a new value rolls them).
  const dependents = (kind: 'secrets' | 'configmaps') => (object: { metadata?: { namespace: string; name: string } }) => {
    const { namespace, name } = object.metadata!;
    void (async () => {
      for await (const page of services.pages({ namespace, match: (s) => specObjectRefs(s.spec)[kind].includes(name) })) for (const s of page) serviceQueue.add(key(s));
    })().catch((err: unknown) => queueLog.warn({ err, namespace, [kind]: name }, 'could not list the services that use a changed object; they are looked at on their next change'));
  };
  secrets.onChange(dependents('secrets'));
  configMaps.onChange(dependents('configmaps'));

  // Everything already stored gets a first look: adoption of running instances happens here.
  for (const i of instances.values()) instanceQueue.add(key(i));
  // Services: a pass over the store in the background (a million must not hold up the start),
  // enqueueing only those with work: instances to adopt or converge, a status to write, a
  // deletion to finish. Again after the services watch failed (changes may have been missed).
  const lookAtServices = async () => {
    const owners = new Set<string>();
    for (const i of instances.values()) owners.add(instanceKey(i.metadata!.namespace, i.spec?.service ?? ''));
    for await (const page of services.pages()) for (const s of page) if (owners.has(key(s)) || !isServiceAtRest(s)) serviceQueue.add(key(s));
  };
  const servicePass = () => lookAtServices().catch((err: unknown) => queueLog.warn({ err }, 'the pass over stored services stopped; services are looked at on their next change'));
  let servicesLooked = servicePass();
  services.onResync(() => void (servicesLooked = servicePass()));
  for (const n of namespaces.values()) namespaceQueue.add(n.metadata!.name);
  // Jobs: scheduled times missed while runed was down are decided here (job-plan.ts).
  for (const j of jobs.values()) jobQueue.add(jobKey(j.metadata!.namespace, j.metadata!.name));
  for (const r of runs.values()) jobQueue.add(jobKey(r.metadata!.namespace, r.spec?.job ?? '')); // orphans too
  // Runs in flight are adopted in their first pass; files of runs deleted while runed was down go.
  await runController.sweep();
  for (const r of runs.values()) runQueue.add(runKey(r.metadata!.namespace, r.metadata!.name));

  return {
    instances,
    services,
    jobs,
    runs,
    get supervised() {
      return instanceController.supervised + runController.supervised;
    },
    activeRuns: () => runController.activeRuns(),
    drained: async () => {
      await servicesLooked;
      await Promise.all([serviceQueue.drained(), instanceQueue.drained(), namespaceQueue.drained(), jobQueue.drained(), runQueue.drained()]);
    },
    stop: async () => {
      services.stop();
      instances.stop();
      namespaces.stop();
      secrets.stop();
      configMaps.stop();
      jobs.stop();
      runs.stop();
      scheduleTimer.stop();
      health.stop();
      runController.close();
      await Promise.all([serviceQueue.stop(), instanceQueue.stop(), namespaceQueue.stop(), jobQueue.stop(), runQueue.stop()]);
      await runner.close();
    },
  };
}

/** A run that may have a process (and so secret mounts) now. */
function isActiveRun(run: Run | undefined): boolean {
  return run !== undefined && !isTerminal(run);
}
