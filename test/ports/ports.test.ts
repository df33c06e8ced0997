// Every port adapter held to one contract: the in-memory ones the pipeline tests run on, the embedded mode's
// files, and Redis (the real local server, a key prefix of its own per test). A fake that drifts from the
// Redis behaviour fails here, not in production.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';

import type { DocumentStore, EventLog, ResultStore, StateStore } from '../../pipelines/ports.ts';
import { MemoryEventLog } from '../../services/adapters/memory/event-log.ts';
import { FileDocumentStore } from '../../services/adapters/files/document-store.ts';
import { FileResultStore } from '../../services/adapters/files/result-store.ts';
import { FileStateStore } from '../../services/adapters/files/state-store.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import { RedisDocumentStore } from '../../services/adapters/redis/document-store.ts';
import { RedisEventLog } from '../../services/adapters/redis/event-log.ts';
import { RedisResultStore } from '../../services/adapters/redis/result-store.ts';
import { RedisStateStore } from '../../services/adapters/redis/state-store.ts';
import { clearPrefix, redisUrl, uniqueName } from '../integration/helpers/services.ts';
import { MemoryDocumentStore, MemoryResultStore, MemoryStateStore } from '../pipeline/memory-ports.ts';
import { CONTRACT_MAX_DOCUMENT_BYTES, documentStoreContract } from './document-store.contract.ts';
import { eventLogContract } from './event-log.contract.ts';
import { resultStoreContract } from './result-store.contract.ts';
import { stateStoreContract, type Factory } from './state-store.contract.ts';

function memory<T>(make: () => T): Factory<T> {
  return async () => ({ port: make(), close: async () => {} });
}

function inDirectory<T>(make: (dir: string) => Promise<T>): Factory<T> {
  return async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rwkvstream-ports-'));
    return { port: await make(dir), close: () => rm(dir, { recursive: true, force: true }) };
  };
}

function onRedis<T>(make: (redis: Redis, keys: Keys) => T): Factory<T> {
  return async () => {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
    const keys = new Keys(uniqueName('ports'));
    return {
      port: make(redis, keys),
      close: async () => {
        await clearPrefix(keys.prefix);
        redis.disconnect();
      },
    };
  };
}

stateStoreContract('memory', memory<StateStore>(() => new MemoryStateStore()), { fencesDroppedState: true });
stateStoreContract('files', inDirectory<StateStore>((dir) => FileStateStore.open(dir)), { fencesDroppedState: false });
stateStoreContract('redis', onRedis<StateStore>((redis, keys) => new RedisStateStore(redis, keys)), { fencesDroppedState: true });

resultStoreContract('memory', memory<ResultStore>(() => new MemoryResultStore()));
resultStoreContract('files', inDirectory<ResultStore>(async (dir) => new FileResultStore(dir)));
resultStoreContract('redis', onRedis<ResultStore>((redis, keys) => new RedisResultStore(redis, keys, 3600)));

eventLogContract('memory', memory<EventLog>(() => new MemoryEventLog(new MemoryStateStore())));
eventLogContract('redis', onRedis<EventLog>((redis, keys) => new RedisEventLog(redis, keys)));

const maxDocumentBytes = CONTRACT_MAX_DOCUMENT_BYTES;
documentStoreContract('memory', memory<DocumentStore>(() => new MemoryDocumentStore({ maxDocumentBytes })));
documentStoreContract('files', inDirectory<DocumentStore>((dir) => FileDocumentStore.open(dir, { maxDocumentBytes })));
documentStoreContract('redis', onRedis<DocumentStore>((redis, keys) => new RedisDocumentStore(redis, keys, { retentionSeconds: 3600, partTtlSeconds: 3600, maxDocumentBytes })));
