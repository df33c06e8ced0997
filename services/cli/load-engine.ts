// The engine of a command that runs a model: the model and vocabulary resolved from the configuration
// (--model, RWKVSTREAM_MODEL, the config file, the cache, else a download of the default — offline, the
// error says how to give one), downloads shown as progress, then loaded.
import type { LoadedConfig } from '../config/index.ts';
import { Engine, inspectModel, useAddon } from '../../engine/index.ts';
import { resolveEngineOptions, resolveModel, type ResolvedEngine, type ShippedModel } from '../models/index.ts';
import { downloadProgress } from './progress.ts';

export interface LoadEngineOptions {
  quiet: boolean;
  signal?: AbortSignal;
  /** The command's model when none is configured (scan: the shipped log model). */
  shippedDefault?: ShippedModel;
}

export async function loadEngine(
  loaded: LoadedConfig,
  options: LoadEngineOptions,
): Promise<{ engine: Engine; resolved: ResolvedEngine }> {
  const resolved = await resolveEngine(loaded, options);
  return { engine: await Engine.load(resolved.options), resolved };
}

/** The model and vocabulary files the configuration names (downloaded when needed), not loaded yet. */
export async function resolveEngine(loaded: LoadedConfig, options: LoadEngineOptions): Promise<ResolvedEngine> {
  const { config, origin } = loaded;
  if (config.addon !== undefined) useAddon(config.addon);
  const progress = downloadProgress({ quiet: options.quiet });
  const resolveOptions = {
    origin,
    onProgress: progress.onProgress,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.shippedDefault ? { shippedDefault: options.shippedDefault } : {}),
  };
  let resolved: ResolvedEngine;
  try {
    const model = await resolveModel(config, resolveOptions);
    let modelVocabSize = model.catalog?.vocabSize ?? model.vocabSize;
    if (config.vocab === undefined && modelVocabSize === undefined) {
      // A model file outside the catalog: only the file says whether it is byte-level (256 ids), an RWKV-4
      // Pile model (the 20B tokenizer) or a World model, and the vocabulary must be settled before the engine
      // loads. Its header says so: no weights are read.
      modelVocabSize = (await inspectModel(model.path)).vocabSize;
    }
    resolved = await resolveEngineOptions(config, {
      ...resolveOptions,
      ...(modelVocabSize !== undefined ? { modelVocabSize } : {}),
    });
  } finally {
    progress.end();
  }
  return resolved;
}
