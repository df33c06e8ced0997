// Embedded mode: the pipelines in one process, with an in-process queue and checkpoints in a local directory
// instead of BullMQ and Redis. Each port has its adapter here; document-job.ts and scan-job.ts run a job.
export { nodeFileOps, type FileOps, type WritableFile } from '../adapters/files/atomic-file.ts';
export { runDocumentJob, type DocumentJobOptions } from './document-job.ts';
export { unusableDir } from '../adapters/files/errors.ts';
export { defaultId, prepareInput, spoolPath, sweepStaleSpools, type PreparedInput } from './input.ts';
export type { Deliver, JobEnd, JobObserver, JobOptions } from './job.ts';
export { JobDir, jobKey } from '../adapters/files/job-dir.ts';
export { readLines, type Line } from '../adapters/files/lines.ts';
export { makePrivateDir } from '../adapters/files/private-dir.ts';
export { runScanJob } from './scan-job.ts';
