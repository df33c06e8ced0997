// Which model and vocabulary a command runs with. The model: the one configured (--model, RWKVSTREAM_MODEL,
// the config file — a file, or the name of a shipped, catalog or cached model), else the command's shipped
// default (scan: the log model), else the cached default model, else any cached model, else a download of the
// default. The vocabulary: the one configured ("20b" resolved to the 20B tokenizer's file), else the byte
// tokenizer for 256-id models, the 20B tokenizer (cached, else downloaded) for 50277-id models, else the cached
// World vocabulary, else a download of it. Only files reach the engine.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

import type { AppConfig } from '../../schemas/app-config.ts';
import type { EngineOptions } from '../../schemas/engine.ts';
import type { CatalogModel, ModelCatalog } from '../../schemas/models.ts';
import { listCached, readCached } from './cache.ts';
import { NEOX_20B, isNamedTokenizer } from '../../engine/neox-20b.ts';
import { DEFAULT_MODEL_NAME, MODEL_CATALOG, WORLD_VOCAB, findCatalogModel, isVocabName } from './catalog.ts';
import { ModelsError } from './errors.ts';
import { formatBytes } from './format.ts';
import { describeError } from './hf.ts';
import { neox20bFile } from './neox-20b.ts';
import { pullModel, pullVocab, type PullOptions, type PullProgress } from './pull.ts';
import { findShippedModel, type ShippedModel } from './shipped.ts';

export type ResolvedFrom = 'configured' | 'shipped' | 'cache' | 'download';

export interface ResolvedModel {
  path: string;
  from: ResolvedFrom;
  /** Catalog or cache name, when the model is a cached one. */
  name?: string;
  /** The catalog entry, when the model is a catalog model (its vocabulary size is then known without loading it). */
  catalog?: CatalogModel;
  /** The vocabulary size, when known without loading the model (catalog and shipped models). */
  vocabSize?: number;
}

export interface ResolvedVocab {
  /** A vocabulary file (the 20B tokenizer's too: the name "20b" resolves to its file), or "bytes". */
  vocab: string;
  from: ResolvedFrom | 'model';
}

export interface ResolveOptions {
  /** Where `config.model` / `config.vocab` came from, for messages (LoadedConfig.origin). */
  origin?: (path: string) => string;
  /** false: never download (doctor, dry runs); default: download unless `config.offline`. */
  download?: boolean;
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
  catalog?: ModelCatalog;
  /** The model of this command when none is configured, before the cache (scan: the shipped log model). */
  shippedDefault?: ShippedModel;
}

type ResolveConfig = Pick<AppConfig, 'model' | 'vocab' | 'home' | 'hfEndpoint' | 'vocabUrl' | 'offline'>;

function pullOptions(config: ResolveConfig, opts: ResolveOptions): PullOptions {
  return {
    home: config.home,
    hfEndpoint: config.hfEndpoint,
    vocabUrl: config.vocabUrl,
    ...(opts.catalog ? { catalog: opts.catalog } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

const isFile = (file: string): boolean => existsSync(file) && statSync(file).isFile();
const mayDownload = (config: ResolveConfig, opts: ResolveOptions): boolean => opts.download ?? !config.offline;

/** Aligned "how" and "what" columns of a three-ways message. */
function ways(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([how]) => how.length));
  return [title, ...rows.map(([how, what]) => `  ${how.padEnd(width)}  ${what}`)].join('\n');
}

/** The three ways to give a model, for every error that ends without one. */
export function howToGiveModel(home: string, catalog: ModelCatalog = MODEL_CATALOG): string {
  const def = findCatalogModel(DEFAULT_MODEL_NAME, catalog);
  const size = def ? ` (${formatBytes(def.fileBytes)})` : '';
  return ways('give a model in one of three ways:', [
    ['--model FILE', 'a model file (.pth, .safetensors, rwkv.cpp .bin) or a model name'],
    ['RWKVSTREAM_MODEL=FILE', 'the same, from the environment (or "model" in a --config file)'],
    [`rwkvstream models pull ${DEFAULT_MODEL_NAME}`, `download the default model${size} into ${home}`],
  ]);
}

export function howToGiveVocab(home: string): string {
  return ways('give the vocabulary in one of three ways:', [
    ['--vocab FILE', `the World vocabulary file (${WORLD_VOCAB.file}), or "bytes" for byte-level models`],
    ['RWKVSTREAM_VOCAB=FILE', 'the same, from the environment (or "vocab" in a --config file)'],
    ['rwkvstream models pull vocab', `download it into ${home}`],
  ]);
}

function whyNoDownload(config: ResolveConfig): string {
  if (config.offline) return 'offline mode is on (RWKVSTREAM_OFFLINE or --offline)';
  return 'this command does not download';
}

async function modelByName(
  name: string,
  config: ResolveConfig,
  opts: ResolveOptions,
  origin: string,
): Promise<ResolvedModel | undefined> {
  // Names are directory names in the cache: anything else (a path that does not exist) is no name.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return undefined;
  const shipped = findShippedModel(name);
  if (shipped) return fromShipped(shipped);
  const catalog = opts.catalog ?? MODEL_CATALOG;
  const entry = findCatalogModel(name, catalog);
  const cached = await readCached(config.home, 'model', entry?.name ?? name);
  if (cached) return { path: cached.path, from: 'cache', name: cached.name, ...(entry ? { catalog: entry } : {}) };
  if (!entry) return undefined;
  if (!mayDownload(config, opts)) {
    throw new ModelsError(
      'E_MODEL_NOT_FOUND',
      `${origin} names the model ${entry.name}, which is not in the cache ${config.home} and ${whyNoDownload(config)}; ` +
        `download it with: rwkvstream models pull ${entry.name}`,
    );
  }
  const pulled = await pullModel(entry.name, pullOptions(config, opts));
  return { path: pulled.model.artifact.path, from: 'download', name: entry.name, catalog: entry };
}

export async function resolveModel(config: ResolveConfig, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const catalog = opts.catalog ?? MODEL_CATALOG;
  if (config.model !== undefined) {
    const origin = opts.origin?.('model') ?? 'the model setting';
    if (isFile(config.model)) return { path: path.resolve(config.model), from: 'configured' };
    const byName = await modelByName(config.model, config, opts, origin);
    if (byName) return byName;
    throw new ModelsError(
      'E_MODEL_NOT_FOUND',
      `${origin}: ${config.model} is neither a model file nor a catalog or cached model name ` +
        `(catalog: ${catalog.map((m) => m.name).join(', ')})`,
    );
  }

  const shipped = opts.shippedDefault;
  if (shipped && isFile(shipped.path)) return fromShipped(shipped);

  const preferred = await readCached(config.home, 'model', DEFAULT_MODEL_NAME);
  const any = preferred ?? (await listCached(config.home, 'model'))[0];
  if (any) {
    const entry = findCatalogModel(any.name, catalog);
    return { path: any.path, from: 'cache', name: any.name, ...(entry ? { catalog: entry } : {}) };
  }

  if (!mayDownload(config, opts)) {
    throw new ModelsError(
      'E_MODEL_NOT_FOUND',
      `no model is configured or cached, and ${whyNoDownload(config)}; ${howToGiveModel(config.home, catalog)}`,
    );
  }
  try {
    const pulled = await pullModel(DEFAULT_MODEL_NAME, pullOptions(config, opts));
    return {
      path: pulled.model.artifact.path,
      from: 'download',
      name: DEFAULT_MODEL_NAME,
      ...withCatalog(DEFAULT_MODEL_NAME, catalog),
    };
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ModelsError(
      'E_MODEL_NOT_FOUND',
      `no model is configured or cached, and downloading ${DEFAULT_MODEL_NAME} failed: ${describeError(err)}; ` +
        howToGiveModel(config.home, catalog),
      { cause: err },
    );
  }
}

function fromShipped(model: ShippedModel): ResolvedModel {
  return { path: model.path, from: 'shipped', name: model.name, vocabSize: model.vocabSize };
}

function withCatalog(name: string, catalog: ModelCatalog): { catalog?: CatalogModel } {
  const entry = findCatalogModel(name, catalog);
  return entry ? { catalog: entry } : {};
}

export interface ResolveVocabOptions extends ResolveOptions {
  /**
   * The model's vocabulary size, when known (a loaded model, a catalog model). 256: the byte tokenizer.
   * Unknown: the World vocabulary, which every released World and G1 model uses.
   */
  modelVocabSize?: number;
}

export async function resolveVocab(config: ResolveConfig, opts: ResolveVocabOptions = {}): Promise<ResolvedVocab> {
  if (config.vocab !== undefined) {
    if (config.vocab === 'bytes' || isFile(config.vocab)) {
      return { vocab: config.vocab === 'bytes' ? 'bytes' : path.resolve(config.vocab), from: 'configured' };
    }
    const origin = opts.origin?.('vocab') ?? 'the vocab setting';
    if (isNamedTokenizer(config.vocab)) return neox20b(config, opts);
    if (!isVocabName(config.vocab)) {
      throw new ModelsError(
        'E_VOCAB_NOT_FOUND',
        `${origin}: ${config.vocab} is not a file (give the World vocabulary file, "bytes", or "vocab" for the cached one)`,
      );
    }
  }
  if (config.vocab === undefined && opts.modelVocabSize === 256) return { vocab: 'bytes', from: 'model' };
  // RWKV-4 Pile and Raven models: the GPT-NeoX 20B tokenizer, from the cache or downloaded.
  if (config.vocab === undefined && opts.modelVocabSize === NEOX_20B.vocabSize) return neox20b(config, opts);

  const cached = await readCached(config.home, 'vocab', WORLD_VOCAB.name);
  if (cached) return { vocab: cached.path, from: 'cache' };
  if (!mayDownload(config, opts)) {
    throw new ModelsError(
      'E_VOCAB_NOT_FOUND',
      `the World vocabulary is not configured or cached, and ${whyNoDownload(config)}; ${howToGiveVocab(config.home)}`,
    );
  }
  try {
    return { vocab: (await pullVocab(pullOptions(config, opts))).artifact.path, from: 'download' };
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ModelsError(
      'E_VOCAB_NOT_FOUND',
      `the World vocabulary is not configured or cached, and downloading it failed: ${describeError(err)}; ${howToGiveVocab(config.home)}`,
      { cause: err },
    );
  }
}

async function neox20b(config: ResolveConfig, opts: ResolveOptions): Promise<ResolvedVocab> {
  const file = await neox20bFile(config, {
    ...(opts.download !== undefined ? { download: opts.download } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { vocab: file.path, from: file.from };
}

export interface ResolvedEngine {
  /** What Engine.load takes. */
  options: EngineOptions;
  model: ResolvedModel;
  vocab: ResolvedVocab;
}

/**
 * Everything Engine.load needs, from a configuration: the model and vocabulary resolved (downloading what
 * is missing unless offline) and the engine settings. Give `modelVocabSize` when the model is already loaded.
 */
export async function resolveEngineOptions(
  config: ResolveConfig & Pick<AppConfig, 'weights' | 'threads' | 'device'>,
  opts: ResolveVocabOptions = {},
): Promise<ResolvedEngine> {
  const model = await resolveModel(config, opts);
  const modelVocabSize = opts.modelVocabSize ?? model.catalog?.vocabSize ?? model.vocabSize;
  const vocab = await resolveVocab(config, { ...opts, ...(modelVocabSize !== undefined ? { modelVocabSize } : {}) });
  return {
    options: {
      model: model.path,
      vocab: vocab.vocab,
      weights: config.weights,
      threads: config.threads,
      device: config.device,
    },
    model,
    vocab,
  };
}
