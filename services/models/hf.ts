// The two Hugging Face endpoints rwkvstream uses: the repository listing (file names, sizes, checksums) and
// the download URL of a file. The base URL is configurable (RWKVSTREAM_HF_ENDPOINT) for mirrors and tests;
// requests go through the proxy the environment names (HTTPS_PROXY, HTTP_PROXY, NO_PROXY: http-get.ts).
import path from 'node:path';

import { HfTreeSchema, type CatalogModel, type HfTreeEntry } from '../../schemas/models.ts';
import { ModelsError } from './errors.ts';
import { formatBytes } from './format.ts';
import { httpGet, readBody } from './http-get.ts';

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

interface ListingPage {
  /** Where it came from after redirects (the base of a relative next-page link). */
  url: string;
  status: number;
  statusText: string;
  link: string | null;
  text: string;
}

const MAX_REDIRECTS = 5;
/** A listing page of tens of files is a few kB; anything near this is not one. */
const MAX_LISTING_BYTES = 16 << 20;

/** One page of a listing, redirects followed, through the environment's proxy (http-get.ts). */
async function getListingPage(url: string, options: HfOptions): Promise<ListingPage> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await httpGet(current, {
      headers: { accept: 'application/json', 'user-agent': 'rwkvstream' },
      timeoutMs: 60_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location) {
      res.resume();
      current = new URL(location, current).toString();
      continue;
    }
    const link = res.headers.link;
    const text = status >= 200 && status < 300 ? await readBody(res, MAX_LISTING_BYTES) : (res.resume(), '');
    return {
      url: current,
      status,
      statusText: res.statusMessage ?? '',
      link: (Array.isArray(link) ? link[0] : link) ?? null,
      text,
    };
  }
  throw new ModelsError('E_HF_API', `more than ${MAX_REDIRECTS} redirects from ${url}`);
}

/** Every file of a repository's main branch, subfolders included. */
export async function listRepoFiles(repo: string, options: HfOptions): Promise<HfTreeEntry[]> {
  const files: HfTreeEntry[] = [];
  let url: string | undefined = `${trimSlash(options.endpoint)}/api/models/${repo}/tree/main?recursive=true`;
  for (let page = 0; url !== undefined; page++) {
    if (page >= MAX_PAGES)
      throw new ModelsError('E_HF_API', `the listing of ${repo} did not end after ${MAX_PAGES} pages`);
    let answer: ListingPage;
    try {
      answer = await getListingPage(url, options);
    } catch (err) {
      if (err instanceof ModelsError) throw err;
      throw new ModelsError('E_HF_API', `cannot list ${repo} at ${options.endpoint}: ${describeError(err)}`, {
        cause: err,
        retriable: true,
      });
    }
    if (answer.status < 200 || answer.status >= 300) {
      const what = answer.status === 404 ? 'no such repository' : `HTTP ${answer.status} ${answer.statusText}`;
      throw new ModelsError('E_HF_API', `cannot list ${repo} at ${options.endpoint}: ${what}`, {
        retriable: answer.status >= 500 || answer.status === 429,
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch (err) {
      throw new ModelsError('E_HF_API', `the listing of ${repo} from ${url} is not JSON: ${describeError(err)}`, {
        cause: err,
      });
    }
    const parsed = HfTreeSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ModelsError(
        'E_HF_API',
        `unexpected listing of ${repo} from ${url}: [${issue.path.join('.')}] ${issue.message}`,
      );
    }
    files.push(...parsed.data.filter((e) => e.type === 'file'));
    url = nextPage(answer.link, answer.url);
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
      throw new ModelsError(
        'E_MODEL_NOT_FOUND',
        `${model.repo} has ${seen}, but ${model.name} should be about ${formatBytes(model.fileBytes)}; ${how}`,
      );
    }
    throw new ModelsError(
      'E_MODEL_NOT_FOUND',
      `no file in ${model.repo} looks like ${model.name} (a .pth named like /${model.filePattern}/i); ${how}`,
    );
  }
  return sized.sort((a, b) => {
    const byDate = releaseDate(re, b.path).localeCompare(releaseDate(re, a.path));
    return byDate !== 0 ? byDate : b.path.localeCompare(a.path);
  })[0]!;
}
