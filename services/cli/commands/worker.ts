// `rwkvstream worker`: runs the ingest role (Kafka consumer, or the Redis inbox queue without Kafka, and planning) and the chunk role (model work)
// until SIGTERM or SIGINT; `--roles` splits them. Every setting comes from the one configuration (flags,
// environment, config file, defaults): the model as summarize finds it, Redis and Kafka as doctor checks them.
import type { Command } from 'commander';

import { addCommandSettings } from '../../config/flags.ts';
import { signalExit } from '../output.ts';
import type { ConfigFlags } from '../../config/index.ts';

export function workerCommand(program: Command): void {
  const cmd = program
    .command('worker')
    .description('run the pipeline: consume documents and events from Kafka, run chunk jobs, publish results');
  addCommandSettings(cmd, 'worker').action(async (flags: ConfigFlags) => {
    const { loadConfig, pipelineSettings, serviceConfig } = await import('../../config/index.ts');
    const { kafkaAccessFrom } = await import('../../adapters/kafka/security.ts');
    const { createLogger } = await import('../../log.ts');
    const { redisAccessFrom } = await import('../../adapters/redis/access.ts');
    const { startWorker } = await import('../../worker/runtime.ts');
    const { resolveEngine } = await import('../load-engine.ts');
    // Listening before anything starts, so no signal meets the default action (which ends the process with
    // jobs still locked): one that comes while the worker waits for Redis or Kafka ends that wait and the
    // command; one that comes later (the instant "worker ready" is logged included) stops the worker cleanly.
    // A second signal stops it at once, as a shutdown waiting on an unreachable service can take a while.
    const starting = new AbortController();
    const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
      let received = 0;
      const request = (signal: NodeJS.Signals) => {
        received += 1;
        if (received > 1) process.exit(signalExit(signal));
        starting.abort(signal);
        resolve(signal);
      };
      process.on('SIGTERM', request);
      process.on('SIGINT', request);
    });
    const loaded = await loadConfig({ flags });
    const { config, origin } = loaded;
    const service = serviceConfig(loaded);
    const settings = pipelineSettings(config);
    const log = createLogger('rwkvstream-worker', { level: config.logLevel ?? 'info', format: config.logFormat });
    const resolved = await resolveEngine(loaded, { quiet: !process.stderr.isTTY });
    const worker = await startWorker({
      signal: starting.signal,
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
    }).catch((err: unknown) => {
      // A stop asked for while the worker was starting: the start was abandoned, nothing runs yet.
      if (starting.signal.aborted) {
        log.info({ signal: starting.signal.reason }, 'stopped before it was ready');
        process.exit(signalExit(starting.signal.reason as NodeJS.Signals));
      }
      throw err;
    });
    log.info({ signal: await stopRequested }, 'stopping');
    await worker.stop();
    log.info({}, 'stopped');
    process.exit(0);
  });
}
