// `models pull`: find the file of a model in its Hugging Face repository, download it into the cache (resumed,
// verified) and record it. A model is useless without its tokenizer, so pulling a model pulls the World
// vocabulary too (a no-op once cached: its checksum is pinned, so no network is needed to know it is current).
import path from 'node:path';

import type { ArtifactKind, CatalogModel, ModelCatalog } from '../../schemas/models.ts';
import { artifactDir, readCached, removeFile, writeCached, type CachedFile } from './cache.ts';
import { MODEL_CATALOG, WORLD_VOCAB, findCatalogModel, isVocabName } from './catalog.ts';
import { downloadFile, type DownloadProgress } from './download.ts';
import { ModelsError } from './errors.ts';
import { describeError, fileUrl, listRepoFiles, pickModelFile, remoteFile, type RemoteFile } from './hf.ts';

export interface PullProgress extends DownloadProgress {
  /** Artifact name (g1-0.1b, world). */
  name: string;
  file: string;
}

export interface PullOptions {
  home: string;
  hfEndpoint: string;
  /** Where the vocabulary comes from when the Hugging Face repository has no copy. */
  vocabUrl: string;
  catalog?: ModelCatalog;
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
  retries?: number;
  retryDelayMs?: number;
}

export interface PullResult {
  artifact: CachedFile;
  /** False: the cache already held this exact file. */
  downloaded: boolean;
  resumedFrom: number;
  /** File name of an older release that this pull replaced. */
  replaced?: string;
}

export type PullSpec =
  | { kind: 'catalog'; model: CatalogModel }
  | { kind: 'vocab' }
  | { kind: 'file'; repo: string; path: string; name: string };

/** Artifact names double as directory names: keep them to a safe alphabet. */
const safeName = (file: string): string =>
  path.posix
    .basename(file)
    .replace(/\.[^.]+$/, '')
    .replace(/[^A-Za-z0-9._-]/g, '_');

/** NAME from the catalog, "vocab", or OWNER/REPO:PATH for any file of a repository. */
export function parsePullSpec(spec: string, catalog: ModelCatalog = MODEL_CATALOG): PullSpec {
  const model = findCatalogModel(spec, catalog);
  if (model) return { kind: 'catalog', model };
  if (isVocabName(spec)) return { kind: 'vocab' };
  const direct = spec.match(/^([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*):(.+)$/);
  if (direct) return { kind: 'file', repo: direct[1]!, path: direct[2]!, name: safeName(direct[2]!) };
  throw new ModelsError(
    'E_MODEL_UNKNOWN',
    `unknown model "${spec}": use one of ${catalog.map((m) => m.name).join(', ')}, "vocab", or OWNER/REPO:FILE`,
  );
}

interface Wanted {
  kind: ArtifactKind;
  name: string;
  remote: RemoteFile;
}

async function fetchArtifact(wanted: Wanted, opts: PullOptions): Promise<PullResult> {
  const { kind, name, remote } = wanted;
  const file = path.posix.basename(remote.path);
  const cached = await readCached(opts.home, kind, name);
  if (cached && cached.file === file && remote.sha256 !== undefined && cached.sha256 === remote.sha256) {
    return { artifact: cached, downloaded: false, resumedFrom: 0 };
  }
  const result = await downloadFile({
    url: remote.url,
    dest: path.join(artifactDir(opts.home, kind, name), file),
    expected: {
      size: remote.size,
      ...(remote.sha256 !== undefined ? { sha256: remote.sha256 } : {}),
      ...(remote.gitSha1 !== undefined ? { gitSha1: remote.gitSha1 } : {}),
    },
    onProgress: (p) => opts.onProgress?.({ ...p, name, file }),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
  });
  const artifact = await writeCached(opts.home, {
    kind,
    name,
    file,
    ...(remote.repo ? { repo: remote.repo } : {}),
    url: remote.url,
    sha256: result.sha256,
    size: result.size,
    pulledAt: new Date().toISOString(),
  });
  const replaced = cached && cached.file !== file ? cached.file : undefined;
  if (replaced !== undefined) await removeFile(opts.home, kind, name, replaced);
  return {
    artifact,
    downloaded: true,
    resumedFrom: result.resumedFrom,
    ...(replaced !== undefined ? { replaced } : {}),
  };
}

/** Downloads the World vocabulary unless the cache holds it: from the model repository, else from `vocabUrl`. */
export async function pullVocab(opts: PullOptions): Promise<PullResult> {
  const cached = await readCached(opts.home, 'vocab', WORLD_VOCAB.name);
  if (cached?.sha256 === WORLD_VOCAB.sha256) return { artifact: cached, downloaded: false, resumedFrom: 0 };
  const pinned = { size: WORLD_VOCAB.size, sha256: WORLD_VOCAB.sha256 };
  const sources: (() => Promise<RemoteFile>)[] = [
    async () => {
      const files = await listRepoFiles(WORLD_VOCAB.repo, {
        endpoint: opts.hfEndpoint,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const entry = files.find((f) => path.posix.basename(f.path) === WORLD_VOCAB.file);
      if (!entry) throw new ModelsError('E_VOCAB_NOT_FOUND', `${WORLD_VOCAB.repo} has no ${WORLD_VOCAB.file}`);
      return { ...remoteFile(opts.hfEndpoint, WORLD_VOCAB.repo, entry), ...pinned };
    },
    async () => ({ repo: '', path: WORLD_VOCAB.file, url: opts.vocabUrl, ...pinned }),
  ];
  const failures: string[] = [];
  for (const source of sources) {
    try {
      const remote = await source();
      return await fetchArtifact({ kind: 'vocab', name: WORLD_VOCAB.name, remote }, opts);
    } catch (err) {
      if (opts.signal?.aborted || (err instanceof ModelsError && err.code === 'E_DOWNLOAD_BUSY')) throw err;
      failures.push(describeError(err));
    }
  }
  throw new ModelsError(
    'E_DOWNLOAD',
    `cannot download the World vocabulary ${WORLD_VOCAB.file}: ${failures.join('; ')}`,
  );
}

export interface ModelPull {
  model: PullResult;
  vocab: PullResult;
}

/** Downloads a model (and the vocabulary it needs) unless the cache already holds the newest release. */
export async function pullModel(spec: string, opts: PullOptions): Promise<ModelPull> {
  const catalog = opts.catalog ?? MODEL_CATALOG;
  const parsed = parsePullSpec(spec, catalog);
  if (parsed.kind === 'vocab') {
    throw new ModelsError(
      'E_MODEL_UNKNOWN',
      `"${spec}" is the vocabulary, not a model: pull it with pullVocab (rwkvstream models pull vocab)`,
    );
  }
  const repo = parsed.kind === 'catalog' ? parsed.model.repo : parsed.repo;
  const files = await listRepoFiles(repo, {
    endpoint: opts.hfEndpoint,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  let entry;
  if (parsed.kind === 'catalog') {
    entry = pickModelFile(files, parsed.model);
  } else {
    entry = files.find((f) => f.path === parsed.path);
    if (!entry) {
      const models = files.filter((f) => /\.(pth|safetensors|bin)$/i.test(f.path)).map((f) => f.path);
      throw new ModelsError(
        'E_MODEL_NOT_FOUND',
        `${repo} has no file ${parsed.path}${models.length ? `; its model files: ${models.join(', ')}` : ''} (${fileUrl(opts.hfEndpoint, repo, parsed.path)})`,
      );
    }
  }
  const name = parsed.kind === 'catalog' ? parsed.model.name : parsed.name;
  const model = await fetchArtifact({ kind: 'model', name, remote: remoteFile(opts.hfEndpoint, repo, entry) }, opts);
  return { model, vocab: await pullVocab(opts) };
}
