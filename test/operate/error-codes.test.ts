// The error catalogue (schemas/error-codes.ts) is the one place codes are defined: the product raises no code
// missing from it and it holds none the product never raises; the native engine's codes (error.h) are exactly
// the ones it marks native; the README lists every code as the catalogue prints it; and a command's exit
// status comes from the catalogue.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { PipelineError } from '../../pipelines/errors.ts';
import { ErrorCodeInfoSchema } from '../../schemas/error-code-schemas.ts';
import { ERROR_CODE_NAMES, ERROR_CODES, isErrorCode, type ErrorCode } from '../../schemas/error-codes.ts';
import { errorCodesTable } from '../../services/cli/error-codes-table.ts';
import { EXIT, UsageError, exitCodeOf } from '../../services/cli/output.ts';
import { ConfigError } from '../../services/config/index.ts';
import { UnreachableError } from '../../services/service-errors.ts';
import { EngineError } from '../../engine/errors.ts';
import { repoRoot } from '../helpers/paths.ts';
import { assertReadmeHasTable, readme } from '../helpers/readme.ts';

const CATALOGUE = 'schemas/error-codes.ts';
const ERROR_H = 'native/include/rwkv/error.h';
const TS_DIRS = ['engine', 'pipelines', 'services', 'schemas'];
const NATIVE_DIRS = ['native/src', 'native/addon'];
/** A code as a word: not the tail of another name (FILE_MAX), not a prefix pattern (E_REF_*). */
const CODE = /(?<![A-Za-z0-9_])E_[A-Z][A-Z0-9_]*(?![A-Za-z0-9_*])/g;

function files(dir: string, extensions: RegExp): string[] {
  return readdirSync(path.join(repoRoot, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && extensions.test(e.name))
    .map((e) => path.relative(repoRoot, path.join(e.parentPath, e.name)))
    .sort();
}

const tsFiles = TS_DIRS.flatMap((d) => files(d, /\.ts$/));
const nativeFiles = NATIVE_DIRS.flatMap((d) => files(d, /\.(h|hpp|cc|cpp|cu|cuh)$/));
const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

/** TypeScript without its comments, so only code counts as a use (`//` after a colon, as in URLs, stays). */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
}

/** error.h's constants: name (kModelFormat) to code (E_MODEL_FORMAT). */
function nativeCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of read(ERROR_H).matchAll(/inline\s+constexpr\s+const\s+char\s*\*\s*(k\w+)\s*=\s*"([^"]*)"\s*;/g))
    found.set(m[1]!, m[2]!);
  return found;
}

test('every catalogue entry says what the code means and what to do next', () => {
  assert.ok(ERROR_CODE_NAMES.length > 80, `${ERROR_CODE_NAMES.length} codes`);
  for (const code of ERROR_CODE_NAMES) {
    assert.match(code, /^E_[A-Z][A-Z0-9_]*$/);
    const parsed = ErrorCodeInfoSchema.safeParse(ERROR_CODES[code]);
    assert.ok(parsed.success, `${code}: ${parsed.error?.message}`);
  }
  assert.ok(isErrorCode('E_MODEL_VERSION'));
  assert.ok(!isErrorCode('E_MODEL_VERSIONS') && !isErrorCode('toString') && !isErrorCode('__proto__'));
});

test('the product raises no code missing from the catalogue', () => {
  const missing: string[] = [];
  for (const file of [...tsFiles, ...nativeFiles]) {
    for (const m of read(file).matchAll(CODE)) if (!isErrorCode(m[0])) missing.push(`${file}: ${m[0]}`);
  }
  assert.deepEqual(missing, [], `codes not in ${CATALOGUE}`);
  // Codes are written out whole, so the scan above sees every one (no code assembled from pieces).
  const assembled = tsFiles.filter((f) => f !== CATALOGUE && /E_\$\{/.test(read(f)));
  assert.deepEqual(assembled, [], 'codes assembled from pieces');
});

test('the catalogue has no dead codes: each is raised by the TypeScript code or by the native engine', () => {
  const used = new Set<string>();
  for (const file of tsFiles.filter((f) => f !== CATALOGUE)) {
    for (const m of withoutComments(read(file)).matchAll(/['"`](E_[A-Z][A-Z0-9_]*)(?![A-Za-z0-9_])/g)) used.add(m[1]!);
  }
  const nativeSources = nativeFiles.map(read).join('\n');
  for (const [name, code] of nativeCodes()) if (new RegExp(`\\bcode::${name}\\b`).test(nativeSources)) used.add(code);
  const dead = ERROR_CODE_NAMES.filter((c) => !used.has(c));
  assert.deepEqual(dead, [], 'catalogue codes nothing raises');
});

test("the native engine's codes (error.h) are exactly the ones the catalogue marks native", () => {
  const codes = nativeCodes();
  assert.ok(codes.size >= 15, `parsed ${codes.size} codes from ${ERROR_H}`);
  assert.equal(new Set(codes.values()).size, codes.size, 'each code once in error.h');
  const marked = ERROR_CODE_NAMES.filter((c) => (ERROR_CODES[c] as { native?: true }).native === true);
  assert.deepEqual([...codes.values()].sort(), [...marked].sort());
});

test('an engine error is retried as the catalogue says; a code from outside it (a Node error) still is', () => {
  for (const code of ERROR_CODE_NAMES) {
    const retriable = (ERROR_CODES[code] as { retriable?: boolean | 'by cause' }).retriable;
    assert.equal(new EngineError(code, 'x').retriable, retriable !== false, code);
  }
  const foreign = EngineError.from(Object.assign(new Error('dlopen failed'), { code: 'ERR_DLOPEN_FAILED' }));
  assert.equal(foreign.code, 'ERR_DLOPEN_FAILED');
  assert.equal(foreign.retriable, true);
  assert.equal(EngineError.from(new Error('no code')).code, 'E_INTERNAL');
});

test('the README lists every code: the table is the one the catalogue prints', () => {
  assertReadmeHasTable(errorCodesTable(), 'services/cli/error-codes-table.ts', 'errorCodesTable');
  const unknown = [...readme().matchAll(/`(E_[A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!).filter((c) => !isErrorCode(c));
  assert.deepEqual(unknown, [], 'codes the README names that are not in the catalogue');
});

test("a command's exit status is the one the catalogue gives its error's code", () => {
  const exitOf = (code: ErrorCode) => exitCodeOf(Object.assign(new Error('x'), { code }));
  for (const code of ERROR_CODE_NAMES) {
    const exit = (ERROR_CODES[code] as { exit?: 'usage' | 'unreachable' }).exit;
    assert.equal(exitOf(code), exit ? EXIT[exit] : EXIT.error, code);
  }
  assert.equal(exitCodeOf(new UsageError('bad flag')), EXIT.usage);
  assert.equal(exitCodeOf(new ConfigError([{ source: 'default', path: 'x', message: 'bad' }])), EXIT.usage);
  const refused = new UnreachableError(
    'redis',
    'redis://h:1',
    'environment REDIS_URL',
    new Error('WRONGPASS invalid username-password pair'),
  );
  assert.equal(refused.code, 'E_REDIS_REFUSED');
  assert.equal(exitCodeOf(refused), EXIT.unreachable);
  const silent = new UnreachableError('kafka', 'k:9092', 'flag --kafka', new Error('connect ECONNREFUSED'));
  assert.equal(silent.code, 'E_KAFKA_UNREACHABLE');
  assert.equal(exitCodeOf(silent), EXIT.unreachable);
  assert.equal(exitCodeOf(new PipelineError('E_TOO_LARGE', 'big', { retriable: false })), EXIT.error);
  assert.equal(exitCodeOf(Object.assign(new Error('x'), { code: 'ENOENT' })), EXIT.error);
  assert.equal(exitCodeOf('not an error'), EXIT.error);
});
