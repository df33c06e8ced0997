// Secured services (infra/*/start-secure.sh): Kafka only over SASL_SSL with SCRAM-SHA-512, Redis only over TLS
// with an ACL user. Two rows:
// - end to end: workers configured by the environment alone read documents; each must end with its
//   reference result and one commit per chunk, and no output may show a password;
// - wrong credentials, while those documents run: a worker with a wrong Redis or Kafka password must log one
//   line per attempt and exit 5, and `status` / `submit` must say so in one line and exit 5 — the refusals —
//   and none of it may disturb the documents.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { cliEntry } from '../../helpers/paths.ts';
import { spawnWorker } from '../../integration/helpers/worker-process.ts';
import { securedServices } from '../../integration/helpers/secured.ts';
import { Cluster, mixedDocuments } from '../cluster.ts';
import type { Scenario } from '../scenario.ts';

const exec = promisify(execFile);
const WRONG = 'wrong-password-fault-suite';

interface Attempt {
  what: string;
  /** Ended as it should: exit 5, a "refused the connection" line, few lines, no secret. */
  refused: boolean;
  detail: string;
}

export const securedServicesScenario: Scenario = {
  name: 'secured-services',
  category: 'fault',
  quick: false,
  async run(ctx, report) {
    const services = await securedServices();
    const docs = mixedDocuments(ctx.quick ? 3 : 6, 40, 'sec');
    const outputs: string[] = [];
    await Cluster.open(
      {
        brokers: services.kafka.brokers,
        redisUrl: services.redis.url,
        name: 'secured',
        chunkTokens: 64,
        env: services.env,
        redisAccess: services.redis,
        kafkaSecurity: {
          ...(services.kafka.ssl ? { ssl: services.kafka.ssl } : {}),
          ...(services.kafka.sasl ? { sasl: services.kafka.sasl } : {}),
        },
      },
      async (cluster) => {
        await Promise.all([cluster.spawn('sec-w1'), cluster.spawn('sec-w2')]);
        await cluster.submit(docs);

        const attempts: Attempt[] = [];
        const command = async (what: string, args: string[], extra: Record<string, string>) => {
          const result = await exec(process.execPath, [cliEntry, ...args], {
            env: { ...process.env, ...services.env, ...extra },
          }).then(
            ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
            (e: { code?: number; stdout?: string; stderr?: string }) => ({
              code: e.code ?? -1,
              out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
            }),
          );
          outputs.push(result.out);
          const lines = result.out.trim().split('\n');
          attempts.push({
            what,
            refused: result.code === 5 && lines.length === 1 && /refused the connection/.test(result.out),
            detail: `exit ${result.code}, ${lines.length} line(s)`,
          });
        };
        await command('status, wrong Redis password', ['status', 'x', '--prefix', cluster.prefix], {
          REDIS_PASSWORD_FILE: '',
          REDIS_PASSWORD: WRONG,
        });
        await command(
          'submit, wrong SASL password',
          ['submit', '--topic-prefix', cluster.prefix, '--task', 'summarize', '--url', 'https://example.com/x'],
          { KAFKA_SASL_PASSWORD: WRONG },
        );
        for (const [what, extra] of [
          ['worker, wrong Redis password', { REDIS_PASSWORD_FILE: '', REDIS_PASSWORD: WRONG }],
          ['worker, wrong SASL password', { KAFKA_SASL_PASSWORD: WRONG }],
        ] as const) {
          const failed = await spawnWorker({
            name: `sec-wrong-${attempts.length}`,
            brokers: services.kafka.brokers,
            prefix: cluster.prefix,
            topicPrefix: cluster.prefix,
            groupId: cluster.groupId,
            redis: services.redis.url,
            env: { ...services.env, ...extra },
            args: ['--connect-attempts', '3'],
          }).then(
            () => null,
            (err: Error) => err,
          );
          const text = failed?.message ?? 'started';
          outputs.push(text);
          // spawnWorker's error carries the last log lines: two retries, then the refusal.
          const retries = (text.match(/retrying in/g) ?? []).length;
          attempts.push({
            what,
            refused: /exited with 5/.test(text) && retries === 2 && /refused the connection/.test(text),
            detail: `${retries} retry lines`,
          });
        }

        const settled = await cluster.settled(docs, ctx.quick ? 180_000 : 300_000);
        const verdict = await cluster.verify(docs);
        const logs = cluster.processes.flatMap((w) => w.logs.map((e) => JSON.stringify(e)));
        const leaked = [...services.secrets, WRONG].filter((s) =>
          [...outputs, ...logs].some((o) => o.includes(s)),
        ).length;
        report({
          category: 'fault',
          name: 'SASL_SSL Kafka + TLS/ACL Redis end to end',
          tries: docs.length,
          identical: leaked === 0 ? verdict.identical : 0,
          refused: 0,
          lost: leaked === 0 ? verdict.lost : docs.length,
          note:
            `${docs.length} docs through SCRAM-SHA-512 over TLS and rediss:// with an ACL user, ${verdict.duplicates} duplicate results; ` +
            `${leaked} secrets seen in ${outputs.length + logs.length} outputs` +
            (settled ? '' : `; ${cluster.pending(docs).length} never finished`) +
            (verdict.problems.length > 0 ? `; ${verdict.problems[0]}` : ''),
        });
        const refused = attempts.filter((a) => a.refused).length;
        report({
          category: 'bad input',
          name: 'wrong credentials (Kafka and Redis)',
          tries: attempts.length + docs.length,
          identical: verdict.identical,
          refused,
          lost: verdict.lost + attempts.length - refused,
          note: `${attempts.map((a) => `${a.what}: ${a.refused ? 'refused' : 'NOT refused'} (${a.detail})`).join('; ')}; ${verdict.identical}/${docs.length} documents undisturbed`,
        });
      },
    );
  },
};
