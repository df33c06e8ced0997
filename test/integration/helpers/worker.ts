// An in-process worker (the same runtime `rwkvstream worker` starts) for integration tests that need no
// separate process, on its own prefix, topics and consumer group.
import {
  PipelineSettingsSchema,
  ServiceConfigSchema,
  type PipelineSettingsInput,
  type ServiceConfigInput,
  type Topics,
} from '../../../schemas/config.ts';
import { createLogger, silentLogger } from '../../../services/log.ts';
import { startWorker, type RunningWorker } from '../../../services/worker/runtime.ts';
import { tinyModel } from '../../helpers/fixtures.ts';
import { redisUrl } from './services.ts';

export interface TestDeployment {
  brokers: string[];
  prefix: string;
  topics: Topics;
  groupId: string;
}

export function startTestWorker(
  deployment: TestDeployment,
  service: Partial<ServiceConfigInput> = {},
  settings: PipelineSettingsInput = {},
): Promise<RunningWorker> {
  return startWorker({
    service: ServiceConfigSchema.parse({
      redisUrl,
      kafkaBrokers: deployment.brokers,
      prefix: deployment.prefix,
      topics: deployment.topics,
      groupId: deployment.groupId,
      partitions: 2,
      metricsPort: 0,
      lockMs: 5000,
      stalledIntervalMs: 2000,
      backoffMs: 200,
      // The shared test Redis runs without persistence (README, "Reliability").
      allowVolatileRedis: true,
      ...service,
    }),
    settings: PipelineSettingsSchema.parse(settings),
    engine: { model: tinyModel, threads: 1 },
    // RWKVSTREAM_TEST_LOG=debug shows the worker's logs when a test needs explaining.
    log: process.env.RWKVSTREAM_TEST_LOG
      ? createLogger('test-worker', process.env.RWKVSTREAM_TEST_LOG)
      : silentLogger(),
  });
}
