// The module specifiers a TypeScript or JavaScript source names: static imports and re-exports (type-only ones
// too, since a type import ties the folders together as much as a value import), `import x = require()`,
// `require()`, and `import()` with a literal argument. A small lexer skips comments, strings, template literals
// and regular expressions first, so an import-looking line inside any of them is never counted. TypeScript 7
// ships no parser API for JavaScript callers, and esbuild drops type-only imports before reporting, so neither
// can answer this.

export type ImportKind = 'static' | 'export' | 'dynamic' | 'require';

export interface ImportRef {
  specifier: string;
  kind: ImportKind;
  line: number;
}

interface Token {
  kind: 'name' | 'string' | 'punct' | 'template' | 'regex' | 'number';
  text: string; // a string's value (no quotes); otherwise the source text
  line: number;
}

const NAME_START = /[A-Za-z_$\u0080-\uffff]/;
const NAME_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
// After these a `/` starts a regular expression rather than a division.
const BEFORE_REGEX_WORDS = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

export class ImportScanError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`${message} (line ${line})`);
    this.name = 'ImportScanError';
  }
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  // One entry per open template literal: the brace depth of its current `${` expression.
  const templates: number[] = [];
  let line = 1;
  let i = 0;
  const n = source.length;

  // Whether the token at `at` can end an operand, so that a `/` after it divides.
  const endsOperand = (at: number): boolean => {
    const token = tokens[at];
    if (token === undefined) return false;
    if (token.kind === 'name') return !BEFORE_REGEX_WORDS.has(token.text);
    if (token.kind !== 'punct') return true;
    if (token.text === ')' || token.text === ']' || token.text === '}') return true;
    // TypeScript's non-null assertion (`x! / y`) and a postfix `x++ / y`.
    if (token.text === '!') return endsOperand(at - 1);
    if ((token.text === '+' || token.text === '-') && tokens[at - 1]?.text === token.text) return endsOperand(at - 2);
    return false;
  };
  const regexAllowed = (): boolean => !endsOperand(tokens.length - 1);

  // Reads template text from i (just after ` or }) up to the closing ` or the next ${.
  const readTemplate = (): void => {
    const startLine = line;
    while (i < n) {
      const c = source[i];
      if (c === '\\') {
        if (source[i + 1] === '\n') line++;
        i += 2;
        continue;
      }
      if (c === '\n') line++;
      if (c === '`') {
        i++;
        templates.pop();
        tokens.push({ kind: 'template', text: '`', line: startLine });
        return;
      }
      if (c === '$' && source[i + 1] === '{') {
        i += 2;
        templates[templates.length - 1] = 0;
        tokens.push({ kind: 'punct', text: '${', line: startLine });
        return;
      }
      i++;
    }
    throw new ImportScanError('unterminated template literal', startLine);
  };

  while (i < n) {
    const c = source[i] as string;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\ufeff' || c === '\u00a0') {
      i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) throw new ImportScanError('unterminated comment', line);
      for (let k = i; k < end; k++) if (source[k] === '\n') line++;
      i = end + 2;
      continue;
    }
    if (c === '#' && i === 0 && source[1] === '!') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const startLine = line;
      let value = '';
      i++;
      for (;;) {
        if (i >= n || source[i] === '\n') throw new ImportScanError('unterminated string', startLine);
        const d = source[i] as string;
        if (d === c) break;
        if (d === '\\') {
          if (source[i + 1] === '\n') line++;
          value += source.slice(i, i + 2);
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      i++;
      tokens.push({ kind: 'string', text: value, line: startLine });
      continue;
    }
    if (c === '`') {
      i++;
      templates.push(0);
      readTemplate();
      continue;
    }
    if (templates.length > 0 && (c === '{' || c === '}')) {
      const depth = templates[templates.length - 1] as number;
      if (c === '}' && depth === 0) {
        // The end of a `${...}` expression: back into the template's text.
        i++;
        readTemplate();
        continue;
      }
      templates[templates.length - 1] = depth + (c === '{' ? 1 : -1);
    }
    if (c === '/' && regexAllowed()) {
      const startLine = line;
      let inClass = false;
      i++;
      for (;;) {
        if (i >= n || source[i] === '\n') throw new ImportScanError('unterminated regular expression', startLine);
        const d = source[i];
        if (d === '\\') {
          i += 2;
          continue;
        }
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        i++;
      }
      i++;
      while (i < n && NAME_PART.test(source[i] as string)) i++;
      tokens.push({ kind: 'regex', text: '/', line: startLine });
      continue;
    }
    if (NAME_START.test(c)) {
      const start = i;
      while (i < n && NAME_PART.test(source[i] as string)) i++;
      tokens.push({ kind: 'name', text: source.slice(start, i), line });
      continue;
    }
    if (c >= '0' && c <= '9') {
      const start = i;
      while (i < n && /[0-9A-Za-z_.]/.test(source[i] as string)) i++;
      tokens.push({ kind: 'number', text: source.slice(start, i), line });
      continue;
    }
    // `?.` and `...` matter only as "not `.`": a member named `import` (`x.import(...)`) is not an import.
    if (c === '.' && source[i + 1] === '.' && source[i + 2] === '.') {
      tokens.push({ kind: 'punct', text: '...', line });
      i += 3;
      continue;
    }
    tokens.push({ kind: 'punct', text: c, line });
    i++;
  }
  if (templates.length > 0) throw new ImportScanError('unterminated template literal', line);
  return tokens;
}

function isPunct(token: Token | undefined, text: string): boolean {
  return token?.kind === 'punct' && token.text === text;
}

function isName(token: Token | undefined, text: string): boolean {
  return token?.kind === 'name' && token.text === text;
}

// From the token after `import`/`export`, the index of `from` followed by a string within the same statement,
// or -1. A statement ends at `;` or at a token that cannot continue an import clause.
function findFrom(tokens: Token[], start: number): number {
  let braces = 0;
  for (let k = start; k < tokens.length; k++) {
    const t = tokens[k] as Token;
    if (t.kind === 'punct') {
      if (t.text === '{') braces++;
      else if (t.text === '}') braces--;
      else if (t.text === ';' || t.text === '=' || t.text === '(') return -1;
      if (braces < 0) return -1;
      continue;
    }
    if (braces === 0 && t.kind === 'name' && t.text === 'from' && tokens[k + 1]?.kind === 'string') return k;
    if (t.kind === 'string' && braces === 0) return -1;
  }
  return -1;
}

export function scanImports(source: string): ImportRef[] {
  const tokens = tokenize(source);
  const refs: ImportRef[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k] as Token;
    if (t.kind !== 'name') continue;
    const previous = tokens[k - 1];
    // `x.import`, `x?.import`, `{ import: ... }` keys and the like are not imports.
    if (isPunct(previous, '.')) continue;
    const next = tokens[k + 1];

    if (t.text === 'import') {
      if (isPunct(next, '.')) continue; // import.meta
      if (isPunct(next, '(')) {
        const arg = tokens[k + 2];
        if (arg?.kind === 'string' && (isPunct(tokens[k + 3], ')') || isPunct(tokens[k + 3], ','))) {
          refs.push({ specifier: arg.text, kind: 'dynamic', line: t.line });
        }
        continue;
      }
      if (next?.kind === 'string') {
        refs.push({ specifier: next.text, kind: 'static', line: t.line });
        continue;
      }
      // import x = require('y')
      if (next?.kind === 'name' && isPunct(tokens[k + 2], '=') && isName(tokens[k + 3], 'require')) continue;
      const from = findFrom(tokens, k + 1);
      if (from >= 0) refs.push({ specifier: (tokens[from + 1] as Token).text, kind: 'static', line: t.line });
      continue;
    }
    if (t.text === 'export') {
      const starts =
        isPunct(next, '*') ||
        isPunct(next, '{') ||
        (isName(next, 'type') && (isPunct(tokens[k + 2], '{') || isPunct(tokens[k + 2], '*')));
      if (!starts) continue;
      const from = findFrom(tokens, k + 1);
      if (from >= 0) refs.push({ specifier: (tokens[from + 1] as Token).text, kind: 'export', line: t.line });
      continue;
    }
    if (t.text === 'require' && isPunct(next, '(')) {
      const arg = tokens[k + 2];
      if (arg?.kind === 'string' && isPunct(tokens[k + 3], ')')) {
        refs.push({ specifier: arg.text, kind: 'require', line: t.line });
      }
    }
  }
  return refs;
}
