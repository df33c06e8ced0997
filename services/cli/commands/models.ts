// `rwkvstream models pull NAME` downloads an official RWKV-7 model (and the World vocabulary) into the cache;
// `rwkvstream models list` shows the catalog and what is cached.
import { Argument, type Command } from 'commander';

import { addConfigFlags } from '../../config/flags.ts';
import type { ConfigFlags } from '../../config/index.ts';
import { formatBytes } from '../../models/format.ts';
import type { PullOptions, PullResult } from '../../models/index.ts';
import { printJson, UsageError } from '../output.ts';

interface PullFlags extends ConfigFlags {
  json?: boolean;
  quiet?: boolean;
}

interface ListFlags extends ConfigFlags {
  json?: boolean;
  markdown?: boolean;
}

const describe = (what: string, r: PullResult): string =>
  `${what}: ${r.artifact.path} (${formatBytes(r.artifact.size)}, ${r.downloaded ? (r.resumedFrom > 0 ? `resumed from ${formatBytes(r.resumedFrom)}` : 'downloaded') : 'already cached'})`;

const resultJson = (r: PullResult) => ({
  name: r.artifact.name,
  path: r.artifact.path,
  file: r.artifact.file,
  size: r.artifact.size,
  sha256: r.artifact.sha256,
  downloaded: r.downloaded,
  resumedFrom: r.resumedFrom,
  ...(r.replaced !== undefined ? { replaced: r.replaced } : {}),
});

export function modelsCommands(program: Command): void {
  const models = program.command('models').description('download official RWKV-7 models and list the cache');
  const pullName = new Argument(
    '<name>',
    'a model of the catalog (rwkvstream models list), "vocab", or OWNER/REPO:FILE',
  );
  // The catalog's names are read only when `models pull` is reached (its help, its errors, its run): loading the
  // catalog at every start would load its schemas.
  models.hook('preSubcommand', async (_models, sub) => {
    if (sub.name() !== 'pull') return;
    const { catalogNames } = await import('../../models/catalog.ts');
    pullName.description = `${catalogNames().join(', ')}, "vocab", or OWNER/REPO:FILE`;
  });

  addConfigFlags(
    models
      .command('pull')
      .addArgument(pullName)
      .description('download a model and the World vocabulary from Hugging Face into the cache (resumable, verified)')
      .option('--json', 'print the result as JSON')
      .option('--quiet', 'no progress output'),
    [],
  ).action(async (name: string, flags: PullFlags) => {
    const { loadConfig } = await import('../../config/index.ts');
    const { parsePullSpec, pullModel, pullVocab } = await import('../../models/index.ts');
    const { downloadProgress } = await import('../progress.ts');
    const { config } = await loadConfig({ flags });
    if (config.offline)
      throw new UsageError('models pull downloads, but offline is set (RWKVSTREAM_OFFLINE or the config file)');
    const spec = parsePullSpec(name);
    const progress = downloadProgress({ quiet: flags.quiet === true });
    const options: PullOptions = {
      home: config.home,
      hfEndpoint: config.hfEndpoint,
      vocabUrl: config.vocabUrl,
      onProgress: progress.onProgress,
    };
    try {
      if (spec.kind === 'vocab') {
        const vocab = await pullVocab(options);
        progress.end();
        if (flags.json) printJson({ vocab: resultJson(vocab) });
        else process.stdout.write(`${describe('vocab', vocab)}\n`);
      } else {
        const pulled = await pullModel(name, options);
        progress.end();
        if (flags.json) printJson({ model: resultJson(pulled.model), vocab: resultJson(pulled.vocab) });
        else
          process.stdout.write(
            `${describe(pulled.model.artifact.name, pulled.model)}\n${describe('vocab', pulled.vocab)}\n`,
          );
      }
    } catch (err) {
      progress.end();
      throw err;
    }
  });

  addConfigFlags(
    models
      .command('list')
      .description('list the catalog of official models and what is cached (a table, or JSON with --json)')
      .option('--json', 'print the listing as JSON')
      .option('--markdown', 'print the catalog as a Markdown table'),
    [],
  ).action(async (flags: ListFlags) => {
    const { LISTING_HEADER, catalogMarkdown, formatTable, listModels, listingRows } = await import(
      '../../models/index.ts'
    );
    if (flags.markdown) {
      process.stdout.write(`${catalogMarkdown()}\n`);
      return;
    }
    const { loadConfig } = await import('../../config/index.ts');
    const { config } = await loadConfig({ flags });
    const listing = await listModels(config.home);
    if (flags.json) {
      printJson(listing);
      return;
    }
    const vocab = listing.vocab.cached ? listing.vocab.cached.path : `not cached (rwkvstream models pull vocab)`;
    process.stdout.write(
      `${formatTable(LISTING_HEADER, listingRows(listing))}\n\ncache: ${listing.home}\nvocabulary: ${vocab}\n`,
    );
  });
}
