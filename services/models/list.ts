// What `models list` shows: every catalog model with its size, memory needs, whether it fits in this machine's
// memory, its speed class (services/models/speed.ts), its prompt format and whether it is cached,
// cached models pulled by file name, and the vocabulary. Also the catalog as a Markdown table (README).
import os from 'node:os';

import { formatFromFileName } from '../../schemas/prompt-formats.ts';
import { ModelListingSchema, type CachedSummary, type ModelCatalog, type ModelListing } from '../../schemas/models.ts';
import { listCached, readCached, type CachedFile } from './cache.ts';
import { DEFAULT_MODEL_NAME, MODEL_CATALOG, WORLD_VOCAB } from './catalog.ts';
import { formatBytes } from './format.ts';
import { fitsIn, speedOf } from './speed.ts';

const summary = (f: CachedFile | undefined): CachedSummary | null =>
  f ? { path: f.path, file: f.file, size: f.size, sha256: f.sha256, pulledAt: f.pulledAt } : null;

export async function listModels(
  home: string,
  catalog: ModelCatalog = MODEL_CATALOG,
  memory: number = os.totalmem(),
): Promise<ModelListing> {
  const cached = await listCached(home, 'model');
  const byName = new Map(cached.map((c) => [c.name, c]));
  const models: ModelListing['models'] = catalog.map((m) => ({
    name: m.name,
    family: m.family,
    repo: m.repo,
    params: m.params,
    nLayer: m.nLayer,
    nEmbd: m.nEmbd,
    fileBytes: m.fileBytes,
    ramBytes: m.ramBytes,
    promptFormat: m.promptFormat,
    tokenizer: m.tokenizer,
    fits: fitsIn(m.ramBytes, memory),
    speed: speedOf(m.params),
    cached: summary(byName.get(m.name)),
  }));
  const known = new Set(catalog.map((m) => m.name));
  for (const c of cached.filter((c) => !known.has(c.name))) {
    models.push({
      name: c.name,
      family: null,
      repo: c.repo ?? null,
      params: null,
      nLayer: null,
      nEmbd: null,
      fileBytes: c.size,
      ramBytes: null,
      promptFormat: formatFromFileName(c.file) ?? null,
      tokenizer: null,
      fits: null,
      speed: null,
      cached: summary(c),
    });
  }
  const vocab = await readCached(home, 'vocab', WORLD_VOCAB.name);
  return ModelListingSchema.parse({
    home,
    memory,
    defaultModel: DEFAULT_MODEL_NAME,
    models,
    vocab: { name: WORLD_VOCAB.name, file: WORLD_VOCAB.file, cached: summary(vocab) },
  });
}

const params = (n: number | null): string =>
  n === null ? '-' : n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : `${Math.round(n / 1e6)}M`;

/** Rows of plain cells, shared by the terminal table and the Markdown table. */
export function listingRows(listing: ModelListing): string[][] {
  return listing.models.map((m) => [
    m.name + (m.name === listing.defaultModel ? ' (default)' : ''),
    params(m.params),
    m.nLayer !== null && m.nEmbd !== null ? `${m.nLayer} x ${m.nEmbd}` : '-',
    formatBytes(m.fileBytes),
    m.ramBytes ? `${formatBytes(m.ramBytes.f32)} / ${formatBytes(m.ramBytes.bf16)}` : '-',
    m.fits ?? '-',
    m.speed ? `${m.speed.speedClass} (${m.speed.cpuPrefill} tok/s)` : '-',
    m.promptFormat ?? '-',
    m.cached ? m.cached.path : '-',
  ]);
}

export const LISTING_HEADER = [
  'model',
  'params',
  'layers x width',
  'download',
  'RAM f32 / bf16',
  'fits here',
  'speed (2-core CPU)',
  'format',
  'cached',
];

/** Left-aligned columns separated by two spaces. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The catalog for the README: name, repository and newest known file, size, memory, prompt format and speed. */
export function catalogMarkdown(catalog: ModelCatalog = MODEL_CATALOG): string {
  const rows = catalog.map((m) => {
    const speed = speedOf(m.params);
    return [
      `\`${m.name}\`${m.name === DEFAULT_MODEL_NAME ? ' (default)' : ''}`,
      `[${m.repo}](https://huggingface.co/${m.repo})`,
      `\`${m.file}\``,
      params(m.params),
      `${m.nLayer} x ${m.nEmbd}`,
      formatBytes(m.fileBytes),
      `${formatBytes(m.ramBytes.f32)} / ${formatBytes(m.ramBytes.bf16)}`,
      `\`${m.promptFormat}\``,
      m.tokenizer === 'world' ? 'World' : '20B',
      `${speed.speedClass} (${speed.cpuPrefill} / ${speed.cpuDecode})`,
    ];
  });
  const header = [
    'name',
    'repository',
    'newest known file',
    'params',
    'layers x width',
    'download',
    'RAM (f32 / bf16 weights)',
    'format',
    'tokenizer',
    'speed, 2-core CPU (read / write tok/s)',
  ];
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
