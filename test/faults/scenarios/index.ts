// Every scenario of the fault suite, in the order they run.
import type { Scenario } from '../scenario.ts';
import { diskFull } from './disk-full.ts';
import { duplicates } from './duplicates.ts';
import { kafkaRestart } from './kafka-restart.ts';
import { rebalance } from './rebalance.ts';
import { badDocuments } from './bad-documents.ts';
import { badMessages } from './bad-messages.ts';
import { fetchRefusals } from './fetch-refusals.ts';
import { fuzz } from './fuzz.ts';
import { load } from './load.ts';
import { oversizedDeadLetter } from './oversized-dead-letter.ts';
import { badModels } from './bad-models.ts';
import { workerKill } from './worker-kill.ts';
import { zombie } from './zombie.ts';
import { redisRestart } from './redis-restart.ts';
import { redisOutage } from './redis-outage.ts';
import { redisCluster } from './redis-cluster.ts';
import { securedServicesScenario } from './secured-services.ts';
import { securedRedisTopologies } from './secured-redis-topologies.ts';
import { streamFlood } from './stream-flood.ts';
import { volatileRedis } from './volatile-redis.ts';

export const scenarios: Scenario[] = [
  // Faults: each compares every final result with an undisturbed run.
  workerKill,
  zombie,
  redisRestart,
  redisOutage,
  volatileRedis,
  kafkaRestart,
  rebalance,
  duplicates,
  diskFull,
  redisCluster,
  // Secured services end to end, and wrong credentials beside good work.
  securedServicesScenario,
  securedRedisTopologies,
  // Bad input beside good work, then fuzzing, then load.
  badMessages,
  badDocuments,
  oversizedDeadLetter,
  fetchRefusals,
  streamFlood,
  badModels,
  fuzz,
  load,
];
