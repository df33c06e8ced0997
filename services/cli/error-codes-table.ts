// The README's table of error codes, printed from the catalogue (schemas/error-codes.ts) with the exit
// status a command stops with on each; a test checks that the README holds it as printed.
import { ERROR_CODE_NAMES, errorCodeInfo, type ErrorCodeInfo } from '../../schemas/error-codes.ts';
import { cell, markdownTable } from '../readme-table.ts';
import { EXIT } from './output.ts';

const RETRIED: Record<string, string> = { true: 'yes', false: 'no', 'by cause': 'by cause' };

function retried(info: ErrorCodeInfo): string {
  return info.retriable === undefined ? '' : RETRIED[String(info.retriable)]!;
}

export function errorCodesTable(): string {
  const codes = [...ERROR_CODE_NAMES].sort();
  return markdownTable(
    ['code', 'meaning', 'what to do', 'retried', 'exit status', 'native engine'],
    codes.map((code) => {
      const info = errorCodeInfo(code);
      return [
        `\`${code}\``,
        cell(info.meaning),
        cell(info.hint),
        retried(info),
        info.exit ? String(EXIT[info.exit]) : '',
        info.native ? 'yes' : '',
      ];
    }),
  );
}
