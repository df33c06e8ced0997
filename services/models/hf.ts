// The two Hugging Face endpoints rwkvstream uses: the repository listing (file names, sizes, checksums) and
// the download URL of a file. The base URL is configurable (RWKVSTREAM_HF_ENDPOINT) for mirrors and tests.
import path from 'node:path';

import { HfTreeSchema, type CatalogModel, type HfTreeEntry } from '../../schemas/models.ts';
import { ModelsError } from './errors.ts';
import { formatBytes } from './format.ts';

export interface HfOptions {
  endpoint: string;
  signal?: AbortSignal;
}

/** What a listing entry tells about a file's content, for verification after download. */
export interface RemoteFile {
  repo: string;
  path: string;
  size: number;
  /** LFS files: the sha256 of the content. */
  sha256?: string;
  /** Plain (non-LFS) files: the git blob id, sha1 over "blob <size>\0" + content. */
  gitSha1?: string;
  url: string;
}

const SHA256 = /^[0-9a-f]{64}$/;
const SHA1 = /^[0-9a-f]{40}$/;
/** Repositories hold tens of files; a listing that keeps paginating is not one. */
const MAX_PAGES = 50;

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

export function fileUrl(endpoint: string, repo: string, filePath: string): string {
  const encoded = filePath.split('/').map(encodeURIComponent).join('/');
  return `${trimSlash(endpoint)}/${repo}/resolve/main/${encoded}`;
}

export function describeError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const base = err instanceof Error ? err.message : String(err);
  return cause?.code ? `${base} (${cause.code})` : cause?.message ? `${base} (${cause.message})` : base;
}

/** `Link: <url>; rel="next"` — the Hub paginates long listings this way. */
function nextPage(link: string | null, current: string): string | undefined {
  const match = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  return match ? new URL(match[1]!, current).toString() : undefined;
}

/** Every file of a repository's main branch, subfolders included. */
export async function listRepoFiles(repo: string, options: HfOptions): Promise<HfTreeEntry[]> {
  const files: HfTreeEntry[] = [];
  let url: string | undefined = `${trimSlash(options.endpoint)}/api/models/${repo}/tree/main?recursive=true`;
  for (let page = 0; url !== undefined; page++) {
    if (page >= MAX_PAGES) throw new ModelsError('E_HF_API', `the listing of ${repo} did not end after ${MAX_PAGES} pages`);
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: 'application/json' }, signal: options.signal ?? null });
    } catch (err) {
      throw new ModelsError('E_HF_API', `cannot list ${repo} at ${options.endpoint}: ${describeError(err)}`, { cause: err, retriable: true });
    }
    if (!res.ok) {
      await res.body?.cancel();
      const what = res.status === 404 ? 'no such repository' : `HTTP ${res.status} ${res.statusText}`;
      throw new ModelsError('E_HF_API', `cannot list ${repo} at ${options.endpoint}: ${what}`, { retriable: res.status >= 500 || res.status === 429 });
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      throw new ModelsError('E_HF_API', `the listing of ${repo} from ${url} is not JSON: ${describeError(err)}`, { cause: err });
    }
    const parsed = HfTreeSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ModelsError('E_HF_API', `unexpected listing of ${repo} from ${url}: [${issue.path.join('.')}] ${issue.message}`);
    }
    files.push(...parsed.data.filter((e) => e.type === 'file'));
    url = nextPage(res.headers.get('link'), url);
  }
  return files;
}

export function remoteFile(endpoint: string, repo: string, entry: HfTreeEntry): RemoteFile {
  const lfsOid = entry.lfs?.oid.toLowerCase();
  const oid = entry.oid?.toLowerCase();
  return {
    repo,
    path: entry.path,
    size: entry.lfs?.size ?? entry.size,
    ...(lfsOid !== undefined && SHA256.test(lfsOid) ? { sha256: lfsOid } : {}),
    ...(entry.lfs === undefined && oid !== undefined && SHA1.test(oid) ? { gitSha1: oid } : {}),
    url: fileUrl(endpoint, repo, entry.path),
  };
}

const releaseDate = (re: RegExp, file: string): string => re.exec(path.posix.basename(file))?.groups?.date ?? '';

/** A listed file of a catalog model is within 25% of the expected size (a file far off is another model or dtype). */
export function sizeFits(size: number, expected: number): boolean {
  return size >= expected * 0.75 && size <= expected * 1.25;
}

/**
 * The file of a catalog model in a repository listing: the name matches the model's pattern and the size is
 * near the expected one; of several releases, the newest (by the date in the name) is taken.
 */
export function pickModelFile(entries: HfTreeEntry[], model: CatalogModel): HfTreeEntry {
  const re = new RegExp(model.filePattern, 'i');
  const named = entries.filter((e) => re.test(path.posix.basename(e.path)));
  const sized = named.filter((e) => sizeFits(e.lfs?.size ?? e.size, model.fileBytes));
  if (sized.length === 0) {
    const how = `pick a file of the repository yourself: rwkvstream models pull ${model.repo}:FILE`;
    if (named.length > 0) {
      const seen = named.map((e) => `${e.path} (${formatBytes(e.lfs?.size ?? e.size)})`).join(', ');
      throw new ModelsError('E_MODEL_NOT_FOUND',
        `${model.repo} has ${seen}, but ${model.name} should be about ${formatBytes(model.fileBytes)}; ${how}`);
    }
    throw new ModelsError('E_MODEL_NOT_FOUND',
      `no file in ${model.repo} looks like ${model.name} (a .pth named like /${model.filePattern}/i); ${how}`);
  }
  return sized.sort((a, b) => {
    const byDate = releaseDate(re, b.path).localeCompare(releaseDate(re, a.path));
    return byDate !== 0 ? byDate : b.path.localeCompare(a.path);
  })[0]!;
}
