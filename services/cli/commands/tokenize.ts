// `rwkvstream tokenize --vocab FILE (--hex HEX | TEXT | stdin)` -> JSON array of ids;
// `rwkvstream detokenize --vocab FILE --ids 1,2,3 [--hex]` -> the text (or its bytes in hex).
import type { Command } from 'commander';

import { parseIdList, printJson, readStdin, UsageError } from '../output.ts';

function parseHex(hex: string): Buffer {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean))
    throw new UsageError(`--hex must be an even number of hex digits, got "${hex}"`);
  return Buffer.from(clean, 'hex');
}

export function tokenizeCommands(program: Command): void {
  program
    .command('tokenize')
    .description('print the token ids of a text (argument, --hex bytes, or stdin) as a JSON array')
    .argument('[text]', 'text to tokenize (default: stdin)')
    .requiredOption('--vocab <file>', 'World vocabulary file, "bytes", "20b" or a tokenizers .json')
    .option('--hex <hex>', 'tokenize these raw bytes (any bytes, including invalid UTF-8)')
    .action(async (text: string | undefined, flags: { vocab: string; hex?: string }) => {
      const { Tokenizer } = await import('../../../engine/index.ts');
      const { commandVocab } = await import('../engine-options.ts');
      const tokenizer = await Tokenizer.load((await commandVocab(flags.vocab))!);
      const input =
        flags.hex !== undefined
          ? parseHex(flags.hex)
          : text !== undefined
            ? Buffer.from(text, 'utf8')
            : await readStdin();
      printJson(Array.from(await tokenizer.encode(input)));
    });

  program
    .command('detokenize')
    .description('print the text of token ids (or its bytes with --hex)')
    .requiredOption('--vocab <file>', 'World vocabulary file, "bytes", "20b" or a tokenizers .json')
    .requiredOption('--ids <ids>', 'comma-separated token ids')
    .option('--hex', 'print the bytes as hex instead of text')
    .action(async (flags: { vocab: string; ids: string; hex?: boolean }) => {
      const { Tokenizer } = await import('../../../engine/index.ts');
      const { commandVocab } = await import('../engine-options.ts');
      const tokenizer = await Tokenizer.load((await commandVocab(flags.vocab))!);
      const bytes = tokenizer.decodeBytes(parseIdList(flags.ids, '--ids'));
      process.stdout.write(flags.hex ? `${bytes.toString('hex')}\n` : bytes);
    });
}
