// `doctor`: every check in order, each independent where it can be — a broken Redis does not hide a model
// problem. Checks that need something that failed are listed as skipped with the reason.
import { DoctorReportSchema, type CheckResult, type DoctorReport } from '../../schemas/doctor.ts';
import { ConfigError, loadConfig, type LoadConfigOptions } from '../config/index.ts';
import { useAddon } from '../../engine/index.ts';
import { checkAddon, checkCanary, checkModel, checkTokenizer, loadForCanary } from './engine-checks.ts';
import { kafkaAccessFrom } from '../adapters/kafka/security.ts';
import { redisAccessFrom } from '../adapters/redis/access.ts';
import { checkKafka, checkRedis } from './services-checks.ts';

const skip = (name: string, message: string): CheckResult => ({ name, status: 'skip', message });

/** A service whose credentials or TLS files cannot be read. */
const configFailure = (name: string, err: ConfigError): CheckResult => ({
  name,
  status: 'fail',
  message: err.message,
  fix: 'correct the setting named above where it comes from',
});

/** The value, or the ConfigError it was refused with. */
async function settled<T>(promise: Promise<T>): Promise<T | ConfigError> {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

function report(checks: CheckResult[]): DoctorReport {
  return DoctorReportSchema.parse({ ok: checks.every((c) => c.status !== 'fail'), checks });
}

export async function runDoctor(options: LoadConfigOptions = {}): Promise<DoctorReport> {
  let loaded;
  try {
    loaded = await loadConfig(options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return report([
      {
        name: 'config',
        status: 'fail',
        message: err.message,
        fix: 'correct the setting named above where it comes from',
      },
      skip('native engine', 'needs a valid configuration'),
    ]);
  }
  const { config, origin } = loaded;
  const checks: CheckResult[] = [
    {
      name: 'config',
      status: 'ok',
      message: `valid${loaded.file !== undefined ? ` (config file ${loaded.file})` : ''}; model cache ${config.home}`,
    },
  ];

  if (config.addon !== undefined) useAddon(config.addon);
  const addon = checkAddon(config);
  checks.push(addon);
  if (addon.status === 'fail' && addon.details === undefined) {
    checks.push(
      skip('model', 'needs the native engine'),
      skip('tokenizer', 'needs the native engine'),
      skip('round trip', 'needs the native engine'),
    );
  } else {
    const { result, file, info } = await checkModel(config, origin);
    checks.push(result);
    if (file === undefined || info === undefined) {
      checks.push(skip('tokenizer', 'needs a model file'), skip('round trip', 'needs a model file'));
    } else {
      // The tokenizer is checked against the file's header; the model is loaded only for the round trip.
      const tok = await checkTokenizer(config, origin, info.vocabSize);
      checks.push(tok.result);
      if (!tok.tokenizer) {
        checks.push(skip('round trip', 'needs a tokenizer that fits the model'));
      } else {
        const loaded = await loadForCanary(config, file);
        if (!loaded.model) {
          checks.push(loaded.result!);
        } else {
          try {
            checks.push(await checkCanary(loaded.model, tok.tokenizer));
          } finally {
            loaded.model.dispose();
          }
        }
      }
    }
  }

  if (config.redisUrl !== undefined) {
    const access = await settled(redisAccessFrom(loaded));
    checks.push(...(access instanceof ConfigError ? [configFailure('redis', access)] : await checkRedis(access)));
  } else {
    checks.push(skip('redis', 'not configured (--redis or REDIS_URL)'));
  }
  if (config.kafkaBrokers !== undefined) {
    const access = await settled(kafkaAccessFrom(loaded));
    checks.push(access instanceof ConfigError ? configFailure('kafka', access) : await checkKafka(access));
  } else {
    checks.push(skip('kafka', 'not configured (--kafka or KAFKA_BROKERS)'));
  }
  return report(checks);
}

/** The report for a terminal: status, check, message, and the fix indented below. */
export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.flatMap((c) => {
    const head = `${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.message.replaceAll('\n', `\n${' '.repeat(width + 8)}`)}`;
    return c.fix ? [head, `${' '.repeat(width + 8)}fix: ${c.fix}`] : [head];
  });
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    '',
    failed > 0
      ? `${failed} check${failed === 1 ? '' : 's'} failed`
      : `no check failed${warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
