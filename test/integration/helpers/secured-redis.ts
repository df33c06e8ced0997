// A secured Redis topology from the project's infra (start-cluster-secure.sh, start-sentinel.sh), and a
// document sent end to end through it without Kafka: `submit` puts it on the inbox queue, a worker without
// brokers reads it, `result` and `status` read the outcome, all configured by the environment the script
// printed (passwords in files), and every byte they printed is searched for the passwords.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { DocumentResultSchema } from '../../../schemas/results.ts';
import { loadConfig } from '../../../services/config/index.ts';
import { redisAccessFrom, type RedisAccess } from '../../../services/adapters/redis/access.ts';
import { cliEntry, repoRoot } from '../../helpers/paths.ts';
import { spawnWorker } from './worker-process.ts';

const run = promisify(execFile);

export interface SecuredRedis {
  /** The settings as the script printed them (REDIS_URL, REDIS_USERNAME, REDIS_PASSWORD_FILE, REDIS_TLS_*...). */
  env: Record<string, string>;
  /** The passwords the script made, read from their files. */
  secrets: string[];
  /** The test's own clients' access, built by the same configuration path the commands use. */
  access: RedisAccess;
}

/** Runs infra/redis/<script> with `env` and reads the VARIABLE=value lines it prints. */
export async function startSecuredRedis(script: string, env: Record<string, string>): Promise<SecuredRedis> {
  const { stdout } = await run(path.join(repoRoot, 'infra', 'redis', script), [], {
    env: { ...process.env, ...env },
    timeout: 150_000,
  });
  const settings = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
  const secrets = ['REDIS_PASSWORD_FILE', 'REDIS_SENTINEL_PASSWORD_FILE']
    .filter((k) => settings[k])
    .map((k) => readFileSync(settings[k]!, 'utf8').trim());
  const loaded = await loadConfig({ env: { HOME: process.env.HOME ?? '/tmp', ...settings } });
  return { env: settings, secrets, access: await redisAccessFrom(loaded) };
}

export async function stopSecuredRedis(script: string, env: Record<string, string>): Promise<void> {
  await run(path.join(repoRoot, 'infra', 'redis', script), ['--wipe'], {
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A CLI command with the topology's environment and no Kafka (whatever the shell running the tests has set). */
export async function securedCli(
  secured: SecuredRedis,
  args: string[],
  extra: Record<string, string> = {},
): Promise<CommandResult> {
  const { KAFKA_BROKERS: _brokers, ...base } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, [cliEntry, ...args], {
      env: { ...base, ...secured.env, ...extra },
      maxBuffer: 16 << 20,
      timeout: 150_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * A document in parts through the inbox, a worker without brokers and `result`/`status`, all on this topology;
 * returns everything printed (for the secret search). The worker is stopped before it returns.
 */
export async function documentEndToEnd(
  secured: SecuredRedis,
  options: { prefix: string; dir: string; id: string },
): Promise<string[]> {
  const outputs: string[] = [];
  const worker = await spawnWorker({
    name: `${options.prefix}-w`,
    brokers: [],
    prefix: options.prefix,
    topicPrefix: options.prefix,
    groupId: options.prefix,
    redis: secured.env.REDIS_URL!,
    args: ['--chunk-tokens', '256'],
    env: { ...secured.env, KAFKA_BROKERS: undefined },
  });
  try {
    const cmdline = readFileSync(`/proc/${worker.pid}/cmdline`, 'utf8');
    for (const secret of secured.secrets)
      assert.ok(!cmdline.includes(secret), "no secret on the worker's command line");

    const text = Array.from(
      { length: 40 },
      (_, i) => `${i}. The lock keeper opens the upper gate at dawn and logs each barge (${(i * 7) % 31}).\n`,
    ).join('');
    const file = path.join(options.dir, `${options.id}.txt`);
    writeFileSync(file, text);
    const command = async (args: string[]) => {
      const r = await securedCli(secured, [...args, '--prefix', options.prefix]);
      outputs.push(r.stdout, r.stderr);
      assert.equal(r.code, 0, `${args[0]} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    };
    assert.equal(
      (
        await command([
          'submit',
          '--task',
          'summarize',
          '--file',
          file,
          '--id',
          options.id,
          '--max-tokens',
          '8',
          '--part-bytes',
          '1024',
        ])
      ).trim(),
      options.id,
    );
    const result = DocumentResultSchema.parse(JSON.parse(await command(['result', options.id, '--wait', '120'])));
    assert.equal(result.tokens, Buffer.byteLength(text), 'every part was read');
    assert.equal(result.chunks, Math.ceil(Buffer.byteLength(text) / 256));
    assert.equal(JSON.parse(await command(['status', options.id, '--json'])).state, 'done');
  } finally {
    await worker.stop();
    outputs.push(...worker.logs.map((l) => JSON.stringify(l)));
  }
  return outputs;
}
