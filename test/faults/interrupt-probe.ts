// For interrupt.test.ts: starts a scenario Redis the way the fault suite does (infra/redis/start.sh on its
// own port and data directory), says "up", and waits to be interrupted.
import { stopStartedOnSignals } from './interrupt.ts';
import { ScenarioRedis } from './scenarios/redis-restart.ts';

const [port, tmp] = process.argv.slice(2);
stopStartedOnSignals();
const redis = new ScenarioRedis(
  { quick: true, brokers: async () => [], redisUrl: '', tmp: tmp!, log: () => {} },
  Number(port),
);
await redis.start();
process.stdout.write('up\n');
setInterval(() => {}, 1 << 30);
