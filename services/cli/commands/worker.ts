// `rwkvstream worker`: runs the ingest role (Kafka consumer, or the Redis inbox queue without Kafka, and planning) and the chunk role (model work)
// until SIGTERM or SIGINT; `--roles` splits them. Every setting comes from the one configuration (flags,
// environment, config file, defaults): the model as summarize finds it, Redis and Kafka as doctor checks them.
import type { Command } from 'commander';

import { addCommandSettings, loadConfig, pipelineSettings, serviceConfig, type ConfigFlags } from '../../config/index.ts';
import { kafkaAccessFrom } from '../../adapters/kafka/security.ts';
import { createLogger } from '../../log.ts';
import { redisAccessFrom } from '../../adapters/redis/access.ts';
import { startWorker } from '../../worker/runtime.ts';
import { resolveEngine } from '../load-engine.ts';

export function workerCommand(program: Command): void {
  const cmd = program
    .command('worker')
    .description('run the pipeline: consume documents and events from Kafka, run chunk jobs, publish results');
  addCommandSettings(cmd, 'worker').action(async (flags: ConfigFlags) => {
    const loaded = await loadConfig({ flags });
    const { config, origin } = loaded;
    const service = serviceConfig(loaded);
    const settings = pipelineSettings(config);
    const log = createLogger('rwkvstream-worker', { level: config.logLevel ?? 'info', format: config.logFormat });
    const resolved = await resolveEngine(loaded, { quiet: !process.stderr.isTTY });
    const worker = await startWorker({
      service,
      settings,
      engine: resolved.options,
      log,
      origins: { redis: origin('redisUrl'), kafka: origin('kafkaBrokers') },
      redis: await redisAccessFrom(loaded),
      // No brokers configured: the worker reads the Redis inbox queue and publishes to Redis streams.
      ...(config.kafkaBrokers !== undefined ? { kafka: await kafkaAccessFrom(loaded) } : {}),
      connectAttempts: config.worker.connectAttempts,
      metricsPortFallback: origin('metricsPort') === 'default',
    });
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        log.info({ signal }, 'stopping');
        resolve();
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
    await worker.stop();
    log.info({}, 'stopped');
    process.exit(0);
  });
}
