// The log model shipped in models/log/: an official RWKV-7 file the engine loads, scan's default when no model
// is configured (the configured one still wins), and good at its job: on held-out real service logs it ranks
// inserted anomalies above normal lines, which a model that knows nothing of logs does not.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { auroc, injectAnomalies, readHeldOutLogs, scoredItems } from '../../bench/scan/anomalies.ts';
import { scoreLines } from '../../bench/scan/score.ts';
import { Engine } from '../../engine/index.ts';
import { LOG_MODEL, resolveEngineOptions, resolveModel } from '../../services/models/index.ts';
import { cli, isolatedEnv, tempDir } from '../embedded/helpers.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry, repoRoot } from '../helpers/paths.ts';

const run = promisify(execFile);

/** A held-out sample small enough for CI: the first lines of each captured service log, anomalies inserted. */
const SAMPLE = injectAnomalies(readHeldOutLogs(), { seed: 3, rate: 0.08, maxLines: 90 });
/** What the shipped model must reach on SAMPLE; a model that has not learnt logs lands near 0.5 or below. */
const MIN_AUROC = 0.9;

async function sampleAuroc(model: string): Promise<number> {
  const engine = await Engine.load({ model, vocab: 'bytes', device: 'cpu' });
  try {
    const scores: number[] = [];
    const labels: boolean[] = [];
    for (const log of SAMPLE) {
      const items = scoredItems(
        log.lines,
        await scoreLines(
          engine,
          log.lines.map((l) => l.text),
        ),
      );
      scores.push(...items.map((i) => i.score));
      labels.push(...items.map((i) => i.anomaly !== undefined));
    }
    assert.ok(labels.filter(Boolean).length >= 10, 'the sample holds enough anomalies to judge');
    return auroc(scores, labels);
  } finally {
    engine.dispose();
  }
}

test('the shipped log model is an official RWKV-7 byte-level file of a few MB', async () => {
  assert.ok(existsSync(LOG_MODEL.path), `${LOG_MODEL.path} is missing`);
  assert.ok(statSync(LOG_MODEL.path).size < 8 << 20);
  const { stdout } = await run(process.execPath, [cliEntry, 'inspect', LOG_MODEL.path]);
  const info = JSON.parse(stdout) as Record<string, unknown>;
  assert.equal(info.version, 'x070');
  assert.equal(info.vocab_size, LOG_MODEL.vocabSize);
  assert.equal(info.head_size, 64, 'the head size the CUDA kernels take');
  assert.equal(info.dtype, 'f16');
});

test('scan resolves the shipped log model when none is configured, and the configured one otherwise', async () => {
  const home = tempDir('home');
  const config = { home, hfEndpoint: 'http://127.0.0.1:9', vocabUrl: 'http://127.0.0.1:9/vocab', offline: true };
  const shipped = await resolveEngineOptions(
    { ...config, weights: 'f32', threads: 0, device: 'cpu' },
    { shippedDefault: LOG_MODEL },
  );
  assert.equal(shipped.model.from, 'shipped');
  assert.equal(shipped.model.path, LOG_MODEL.path);
  assert.equal(shipped.vocab.vocab, 'bytes');
  const configured = await resolveModel({ ...config, model: tinyModel }, { shippedDefault: LOG_MODEL });
  assert.equal(configured.from, 'configured');
  assert.equal(configured.path, path.resolve(tinyModel));
  const byName = await resolveModel({ ...config, model: 'log' });
  assert.equal(byName.path, LOG_MODEL.path);
  // Other commands keep their default: without a shipped default and offline, no model is found.
  await assert.rejects(resolveModel(config), /no model is configured or cached/);
});

test('rwkvstream scan of the example log works offline with no model configured', async () => {
  const home = tempDir('home');
  const result = await cli(
    ['scan', path.join(repoRoot, 'examples', 'app.log'), '--checkpoint-dir', tempDir('ckpt'), '--json', '--quiet'],
    { env: isolatedEnv(home) },
  );
  assert.equal(result.code, 0, result.stderr);
  const events = result.stdout
    .trim()
    .split('\n')
    .flatMap((l) => (JSON.parse(l) as { events: { surprise: number }[] }).events);
  assert.ok(events.length > 20);
  assert.ok(events.every((e) => Number.isFinite(e.surprise) && e.surprise > 0));
});

test(`on held-out service logs the shipped model ranks inserted anomalies above normal lines (AUROC >= ${MIN_AUROC})`, async (t) => {
  const value = await sampleAuroc(LOG_MODEL.path);
  t.diagnostic(`shipped model AUROC ${value.toFixed(4)}`);
  assert.ok(value >= MIN_AUROC, `AUROC ${value.toFixed(3)}`);
});

test('the same check fails for a model that has not learnt logs, and for one that scores every line alike', async (t) => {
  // The tiny byte-level test model: trained on prose, not logs.
  const tiny = await sampleAuroc(tinyModel);
  t.diagnostic(`tiny model AUROC ${tiny.toFixed(4)}`);
  assert.ok(tiny < MIN_AUROC, `tiny model AUROC ${tiny.toFixed(3)}`);
  // A byte-uniform model gives every line ln(256) nats per byte: no ranking at all.
  assert.equal(auroc([5.545, 5.545, 5.545, 5.545], [true, false, false, true]), 0.5);
});
