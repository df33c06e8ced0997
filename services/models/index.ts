// Models: the catalog of official RWKV-7 releases, the download cache, and which model/vocabulary to run.
export { artifactDir, listCached, readCached, type CachedFile } from './cache.ts';
export {
  DEFAULT_MODEL_NAME,
  DEFAULT_VOCAB_URL,
  MODEL_CATALOG,
  WORLD_VOCAB,
  catalogNames,
  findCatalogModel,
  isVocabName,
} from './catalog.ts';
export {
  downloadFile,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  type ExpectedContent,
} from './download.ts';
export { ModelsError, type ModelsErrorCode } from './errors.ts';
export { formatBytes } from './format.ts';
export { fileUrl, listRepoFiles, pickModelFile } from './hf.ts';
export { LISTING_HEADER, catalogMarkdown, formatTable, listModels, listingRows } from './list.ts';
export { choosePromptFormat, formatOfModel, type FormatChoice } from './prompt-format.ts';
export { NEOX_20B_URL, neox20bFile, type Neox20bFile, type Neox20bOptions } from './neox-20b.ts';
export {
  parsePullSpec,
  pullModel,
  pullVocab,
  type ModelPull,
  type PullOptions,
  type PullProgress,
  type PullResult,
} from './pull.ts';
export {
  howToGiveModel,
  howToGiveVocab,
  resolveEngineOptions,
  resolveModel,
  resolveVocab,
  type ResolvedEngine,
  type ResolvedModel,
  type ResolvedVocab,
  type ResolveOptions,
  type ResolveVocabOptions,
} from './resolve.ts';
export { LOG_MODEL, SHIPPED_MODELS, findShippedModel, type ShippedModel } from './shipped.ts';
