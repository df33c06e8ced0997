// Held-out log lines with injected anomalies, for measuring how well per-line surprise finds them.
//
// The normal lines are the held-out part of the real service logs that tools/train-log-model/capture_logs.py
// captured (the model never trained on them). Into each log, anomalies of six kinds are inserted at seeded
// random places: stack traces (Java, Python, Node; every line of a trace is an anomaly), base64 or gibberish
// payloads, OOM kills, authentication failures, errors in other languages and segfaults. An inserted line
// borrows the timestamp prefix of the line before it, when that line has one, so it is not given away by its
// format alone.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HELDOUT_DIR = fileURLToPath(new URL('../../tools/train-log-model/samples/heldout/', import.meta.url));

export const ANOMALY_KINDS = [
  'stack-trace',
  'base64',
  'gibberish',
  'oom-kill',
  'auth-failure',
  'foreign-language',
  'segfault',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface LabeledLine {
  text: string;
  /** The kind of an injected line; undefined for a normal one. */
  anomaly?: AnomalyKind;
  /** Which inserted anomaly the line belongs to (a stack trace is one anomaly of several lines). */
  block?: number;
}

export interface LabeledLog {
  name: string;
  lines: LabeledLine[];
}

/** mulberry32: a small seeded generator, so every run injects the same lines at the same places. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const int = (rand: Rand, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo));
const hex = (rand: Rand, n: number): string =>
  Array.from({ length: n }, () => '0123456789abcdef'[int(rand, 0, 16)]).join('');

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const GIBBERISH = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()_+-=[]{};:,.<>?/|~`';

function stackTrace(rand: Rand): string[] {
  const kind = int(rand, 0, 3);
  if (kind === 0) {
    const frames = Array.from({ length: int(rand, 4, 9) }, () => {
      const cls = pick(rand, ['OrderService', 'PaymentGateway', 'ConnectionPool', 'RequestRouter', 'LedgerWriter']);
      return `\tat com.acme.${pick(rand, ['billing', 'orders', 'core'])}.${cls}.${pick(rand, ['handle', 'commit', 'acquire', 'route'])}(${cls}.java:${int(rand, 20, 900)})`;
    });
    return [
      `Exception in thread "${pick(rand, ['main', 'worker-3', 'pool-2-thread-1'])}" java.lang.${pick(rand, ['NullPointerException', 'IllegalStateException: pool exhausted', 'OutOfMemoryError: Java heap space'])}`,
      ...frames,
    ];
  }
  if (kind === 1) {
    const frames = Array.from({ length: int(rand, 2, 5) }, () => {
      const file = pick(rand, ['app/handlers.py', 'app/db.py', 'lib/cache.py', 'worker/jobs.py']);
      return [
        `  File "/srv/${file}", line ${int(rand, 10, 600)}, in ${pick(rand, ['run', 'handle', 'fetch_row', 'commit'])}`,
        `    ${pick(rand, ['row = cur.fetchone()[0]', 'return self._conn.execute(sql)', 'data = json.loads(payload)'])}`,
      ];
    }).flat();
    return [
      'Traceback (most recent call last):',
      ...frames,
      pick(rand, [
        "KeyError: 'tenant_id'",
        "TypeError: 'NoneType' object is not subscriptable",
        'psycopg2.OperationalError: server closed the connection unexpectedly',
      ]),
    ];
  }
  const frames = Array.from(
    { length: int(rand, 3, 7) },
    () =>
      `    at ${pick(rand, ['Object.<anonymous>', 'processTicksAndRejections', 'Socket.emit', 'Parser.execute', 'async Promise.all'])} (${pick(rand, ['/srv/app/dist/index.js', 'node:internal/process/task_queues', 'node:net', '/srv/app/dist/db.js'])}:${int(rand, 1, 400)}:${int(rand, 1, 60)})`,
  );
  return [
    `${pick(rand, ['TypeError', 'RangeError', 'Error'])}: ${pick(rand, ["Cannot read properties of undefined (reading 'id')", 'Maximum call stack size exceeded', 'connect ECONNREFUSED 127.0.0.1:5432'])}`,
    ...frames,
  ];
}

function anomalyLines(kind: AnomalyKind, rand: Rand): string[] {
  switch (kind) {
    case 'stack-trace':
      return stackTrace(rand);
    case 'base64':
      return [
        `${pick(rand, ['payload=', 'token ', 'data: ', ''])}${Array.from({ length: int(rand, 60, 200) }, () => B64[int(rand, 0, 64)]).join('')}${pick(rand, ['==', '=', ''])}`,
      ];
    case 'gibberish':
      return [Array.from({ length: int(rand, 30, 120) }, () => GIBBERISH[int(rand, 0, GIBBERISH.length)]).join('')];
    case 'oom-kill': {
      const pid = int(rand, 1000, 60000);
      const proc = pick(rand, ['java', 'postgres', 'node', 'beam.smp', 'python3']);
      return [
        pick(rand, [
          `kernel: Out of memory: Killed process ${pid} (${proc}) total-vm:${int(rand, 1e6, 9e6)}kB, anon-rss:${int(rand, 1e5, 8e6)}kB, file-rss:0kB, shmem-rss:0kB, UID:${int(rand, 0, 1000)} pgtables:${int(rand, 1000, 20000)}kB oom_score_adj:0`,
          `kernel: ${proc} invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0`,
          `kernel: oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice,task=${proc},pid=${pid},uid=0`,
        ]),
      ];
    }
    case 'auth-failure': {
      const ip = `${pick(rand, [45, 91, 185, 203])}.${int(rand, 0, 256)}.${int(rand, 0, 256)}.${int(rand, 1, 255)}`;
      const user = pick(rand, ['admin', 'root', 'oracle', 'test', 'ubuntu', 'postgres']);
      return [
        pick(rand, [
          `sshd[${int(rand, 1000, 60000)}]: Failed password for invalid user ${user} from ${ip} port ${int(rand, 1024, 65535)} ssh2`,
          `FATAL:  password authentication failed for user "${user}"`,
          `pam_unix(sudo:auth): authentication failure; logname=${user} uid=1000 euid=0 tty=/dev/pts/0 ruser=${user} rhost=  user=${user}`,
          `AUTH failed: WRONGPASS invalid username-password pair or user is disabled. client=${ip}:${int(rand, 1024, 65535)}`,
        ]),
      ];
    }
    case 'foreign-language':
      return [
        pick(rand, [
          'Ошибка: не удалось подключиться к базе данных, повторная попытка через 5 секунд',
          '错误：无法打开配置文件 /etc/app/config.yml，权限被拒绝',
          'エラー: ディスク容量が不足しています。ログの書き込みに失敗しました',
          '오류: 데이터베이스 연결 시간이 초과되었습니다',
          'خطأ: فشل الاتصال بالخادم، يرجى المحاولة لاحقاً',
          'Σφάλμα: η σύνδεση με τον διακομιστή απέτυχε',
        ]),
      ];
    case 'segfault':
      return [
        pick(rand, [
          `kernel: ${pick(rand, ['node', 'redis-server', 'java', 'app'])}[${int(rand, 1000, 60000)}]: segfault at ${hex(rand, 16)} ip ${hex(rand, 16)} sp ${hex(rand, 16)} error ${int(rand, 4, 7)} in libc.so.6[${hex(rand, 12)}+${hex(rand, 6)}]`,
          `Segmentation fault (core dumped)`,
          `*** SIGSEGV received at time=${int(rand, 1.7e9, 1.8e9)} on cpu ${int(rand, 0, 16)} ***`,
        ]),
      ];
  }
}

/** The timestamp-like prefix of a log line ("2026-12-07 02:24:37.136209+00:00 ", "[2026-12-07 02:28:16,213] "...), or "". */
export function timestampPrefix(line: string): string {
  const m =
    line.match(/^(\[?\d{4}[-/]\d{2}[-/]\d{2}[ T]\d{2}:\d{2}:\d{2}[\d.,:+Z]*(?: UTC)?\]? )/) ??
    line.match(/^([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \S+ )/) ??
    line.match(/^(\[\d+\] \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d+ )/);
  return m ? m[1]! : '';
}

/** The held-out logs (one per captured service), each a list of non-empty lines. */
export function readHeldOutLogs(dir = HELDOUT_DIR): { name: string; lines: string[] }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => ({
      name: path.basename(f, '.log'),
      lines: readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l.trim().length > 0),
    }))
    .filter((log) => log.lines.length > 0);
}

export interface InjectOptions {
  seed: number;
  /** Chance, before each normal line, that an anomaly is inserted there. */
  rate: number;
  /** Normal lines kept per log (the first ones), for a shorter run. */
  maxLines?: number;
}

/** Every held-out log with anomalies inserted; the kinds take turns, so each occurs about equally often. */
export function injectAnomalies(logs: { name: string; lines: string[] }[], o: InjectOptions): LabeledLog[] {
  const rand = seededRandom(o.seed);
  let turn = 0;
  let block = 0;
  return logs.map((log) => {
    const out: LabeledLine[] = [];
    const normal = o.maxLines !== undefined ? log.lines.slice(0, o.maxLines) : log.lines;
    for (const line of normal) {
      // Never first: an anomaly is judged against the lines before it.
      if (out.length > 0 && rand() < o.rate) {
        const kind = ANOMALY_KINDS[turn++ % ANOMALY_KINDS.length]!;
        const prefix = timestampPrefix(out[out.length - 1]!.text);
        block++;
        anomalyLines(kind, rand).forEach((text, i) => {
          // A trace's continuation lines carry no timestamp, as in a real log.
          out.push({ text: kind === 'stack-trace' && i > 0 ? text : prefix + text, anomaly: kind, block });
        });
      }
      out.push({ text: line });
    }
    return { name: log.name, lines: out };
  });
}

export interface ScoredItem {
  score: number;
  anomaly?: AnomalyKind;
}

/**
 * What is judged: each normal line, and each inserted anomaly as a whole with the highest surprise of its lines
 * (a stack trace is found when any of its lines raises an alert). `scores` are per line, in `lines`' order.
 */
export function scoredItems(lines: LabeledLine[], scores: number[]): ScoredItem[] {
  const items: ScoredItem[] = [];
  const blocks = new Map<number, ScoredItem>();
  lines.forEach((line, i) => {
    if (line.block === undefined) {
      items.push({ score: scores[i]! });
      return;
    }
    const seen = blocks.get(line.block);
    if (seen) seen.score = Math.max(seen.score, scores[i]!);
    else {
      const item: ScoredItem = { score: scores[i]!, anomaly: line.anomaly! };
      blocks.set(line.block, item);
      items.push(item);
    }
  });
  return items;
}

/**
 * Area under the ROC curve of `scores` for telling anomalies (label true) from normal lines: the chance that a
 * random anomaly scores above a random normal line (ties count half).
 */
export function auroc(scores: number[], labels: boolean[]): number {
  const order = scores.map((s, i) => ({ s, y: labels[i]! })).sort((a, b) => a.s - b.s);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]!.s === order[i]!.s) j++;
    const midRank = (i + 1 + j) / 2; // ranks i+1..j share their mean
    for (let k = i; k < j; k++)
      if (order[k]!.y) {
        rankSum += midRank;
        positives++;
      }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Of the top `rate` fraction of lines by score (the alerts at that alert rate), the fraction that are anomalies. */
export function precisionAtRate(scores: number[], labels: boolean[], rate: number): number {
  const k = Math.max(1, Math.round(scores.length * rate));
  const top = scores
    .map((s, i) => ({ s, y: labels[i]! }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k);
  return top.filter((t) => t.y).length / k;
}
