import { RuneError } from '../../../shared/errors.js';
import type { CastJobRequest, DeleteJobRequest, GetJobRequest, ListJobsRequest } from '../../../shared/gen/rune/v1/job_service.js';
import { castJob, deleteJob, getJob, listJobs } from '../../domain/jobs.js';
import type { Store } from '../../store/store.js';
import type { HandlerMap } from '../dispatch.js';

export function jobHandlers(store: Store): HandlerMap {
  return {
    '/rune.v1.JobService/CastJob': async (req: CastJobRequest) => {
      if (!req.job) throw RuneError.invalid('job', 'is required');
      return castJob(store, req.job, { dryRun: req.dryRun });
    },
    '/rune.v1.JobService/GetJob': async (req: GetJobRequest) => ({ job: await getJob(store, req.namespace, req.name) }),
    '/rune.v1.JobService/ListJobs': async (req: ListJobsRequest) => listJobs(store, req.namespace, req.options ?? {}),
    '/rune.v1.JobService/DeleteJob': async (req: DeleteJobRequest) => ({ job: await deleteJob(store, req.namespace, req.name, req.resourceVersion) }),
  };
}
