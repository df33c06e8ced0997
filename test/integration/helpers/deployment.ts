// One deployment of the pipeline on the real services: its own key prefix, topics and consumer group, a
// collector on its results and dead-letter topics, a Redis client, a producer when asked for, and the
// `rwkvstream worker` processes started on it. `close` removes all of it, also after a failure or a set-up
// that stopped half way. `useDeployment` ties one to a test file's before/after hooks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

import type { Producer } from 'kafkajs';

import type { Topics } from '../../../schemas/config.ts';
import {
  createRedis,
  plainRedis,
  type RedisAccess,
  type RedisClient,
} from '../../../services/adapters/redis/access.ts';
import { Keys } from '../../../services/adapters/redis/keys.ts';
import {
  clearPrefix,
  createTopics,
  deleteTopics,
  kafkaBrokers,
  kafkaClient,
  redisUrl,
  TopicCollector,
  topicsFor,
  uniqueName,
  type KafkaSecurity,
} from './services.ts';
import { spawnWorker, type StartingWorker, type WorkerProcess } from './worker-process.ts';

export interface DeploymentOptions {
  /** Default: the project's broker (started on first use). */
  brokers?: string[];
  /** The Redis of the workers, of `redis` and of the tear-down. Default: the shared test Redis. */
  redisUrl?: string;
  /** Partitions of each topic (default 2). */
  partitions?: number;
  /** Connect a kafkajs producer in `start` (the `producer` field). */
  producer?: boolean;
  /** `rwkvstream worker` flags of every worker, before the ones given to `spawn`. */
  workerArgs?: string[];
  /** Extra environment of the worker processes (the secured services' settings and secrets). */
  env?: NodeJS.ProcessEnv;
  /**
   * How the deployment's own clients reach a secured or clustered Redis (its URL wins over redisUrl); a
   * cluster's workers get --redis-cluster. Credentials reach the workers through `env` only.
   */
  redisAccess?: RedisAccess;
  /** TLS and SASL of the deployment's own Kafka clients. */
  kafkaSecurity?: KafkaSecurity;
}

type TeardownStep = () => unknown;

export class Deployment {
  readonly prefix: string;
  readonly groupId: string;
  readonly topics: Topics;
  readonly keys: Keys;
  readonly collector = new TopicCollector();
  /** Commands wait out a Redis restart instead of failing; usable as a BullMQ queue connection too. */
  readonly redis: RedisClient;
  /** Every worker process started, ready or not, in order (killed ones stay: their logs remain readable). */
  readonly processes: StartingWorker[] = [];
  /** The workers `spawn` returned, in the order they became ready. */
  readonly workers: WorkerProcess[] = [];
  readonly #name: string;
  readonly #options: DeploymentOptions;
  readonly #teardown: TeardownStep[] = [];
  #brokers: string[] | null = null;
  #producer: Producer | null = null;
  #topicsCreated = false;

  constructor(name: string, options: DeploymentOptions = {}) {
    this.#name = name;
    this.#options = options;
    this.prefix = uniqueName(name);
    this.groupId = this.prefix;
    this.topics = topicsFor(this.prefix);
    this.keys = new Keys(this.prefix, { cluster: options.redisAccess?.cluster === true });
    this.redis = createRedis(this.#redisAccess, { maxRetriesPerRequest: null });
    // Connection errors are expected while a Redis restarts; commands wait for the reconnect.
    this.redis.on('error', () => {});
  }

  get #redisUrl(): string {
    return this.#options.redisAccess?.url ?? this.#options.redisUrl ?? redisUrl;
  }

  get #redisAccess(): RedisAccess {
    return this.#options.redisAccess ?? plainRedis(this.#redisUrl);
  }

  get brokers(): string[] {
    if (this.#brokers === null) throw new Error(`deployment ${this.prefix}: brokers are known once start() has run`);
    return this.#brokers;
  }

  get producer(): Producer {
    if (this.#producer === null)
      throw new Error(`deployment ${this.prefix}: no producer (open it with { producer: true }, then start())`);
    return this.#producer;
  }

  /** Topics, the collector on results and dead letters, and the producer when asked for; no worker yet. */
  async start(): Promise<void> {
    this.#brokers = this.#options.brokers ?? (await kafkaBrokers());
    const security = this.#options.kafkaSecurity ?? {};
    await createTopics(this.#brokers, this.topics, this.#options.partitions, security);
    this.#topicsCreated = true;
    await this.collector.start(
      this.#brokers,
      [this.topics.results, this.topics.deadLetter],
      kafkaClient(this.#brokers, security),
    );
    if (this.#options.producer) {
      const producer = kafkaClient(this.#brokers, security).producer();
      await producer.connect();
      this.#producer = producer;
    }
  }

  /** Starts `rwkvstream worker` on this deployment and waits until it is ready; `close` stops it. */
  async spawn(name: string, args: string[] = []): Promise<WorkerProcess> {
    const worker = await spawnWorker({
      name,
      brokers: this.brokers,
      prefix: this.prefix,
      topicPrefix: this.prefix,
      groupId: this.groupId,
      redis: this.#redisUrl,
      ...(this.#options.env ? { env: this.#options.env } : {}),
      args: [
        ...(this.#options.redisAccess?.cluster ? ['--redis-cluster'] : []),
        ...(this.#options.workerArgs ?? []),
        ...args,
      ],
      onSpawn: (starting) => void this.processes.push(starting),
    });
    this.workers.push(worker);
    return worker;
  }

  /** A step of the tear-down, run after the workers stop and before the topics and keys go (last added, first run). */
  onTeardown(step: TeardownStep): void {
    this.#teardown.unshift(step);
  }

  /** A temporary directory, removed in the tear-down. */
  tempDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), `rwkvstream-${this.#name}-`));
    this.onTeardown(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Runs every tear-down step even when some fail, then throws the first failure. */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    const attempt = async (step: TeardownStep) => {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    };
    await Promise.all(this.processes.map((w) => attempt(() => stopWorker(w))));
    for (const step of this.#teardown) await attempt(step);
    await attempt(() => this.#producer?.disconnect());
    await attempt(() => this.collector.stop());
    // Best effort: a broker under load may time out deleting, and the names are never used again.
    if (this.#topicsCreated) await deleteTopics(this.brokers, this.topics, this.#options.kafkaSecurity).catch(() => {});
    await attempt(() => clearPrefix(this.prefix, this.#redisAccess));
    this.redis.disconnect();
    if (failures.length > 0) throw failures[0];
  }
}

/** SIGTERM (after SIGCONT, in case it was paused); SIGKILL when it has not exited within 20 s. */
export async function stopWorker(worker: StartingWorker): Promise<void> {
  if (!worker.running()) return;
  worker.kill('SIGCONT');
  worker.kill('SIGTERM');
  const timer = setTimeout(() => worker.kill('SIGKILL'), 20_000);
  await worker.exited;
  clearTimeout(timer);
}

export interface UseDeploymentOptions extends DeploymentOptions {
  /**
   * More set-up once the deployment has started (in-process workers, servers), in the same hook: a file's own
   * root-level `before` may run before the deployment's has finished.
   */
  setUp?: (deployment: Deployment) => Promise<void>;
  /** The file calls `start()` itself, in the test that first needs the broker (the tests before it need none). */
  deferStart?: boolean;
}

/** A deployment started before the file's tests (unless deferred) and closed after them. */
export function useDeployment(name: string, options: UseDeploymentOptions = {}): Deployment {
  const deployment = new Deployment(name, options);
  if (!options.deferStart) {
    before(
      async () => {
        await deployment.start();
        await options.setUp?.(deployment);
      },
      { timeout: 180_000 },
    );
  }
  after(() => deployment.close(), { timeout: 60_000 });
  return deployment;
}
