// The Lua scripts behind the Redis stores: each is one atomic step that must not interleave with another
// worker's. Scripts touch only keys of one hash tag (one document or stream); the keys they find inside
// hashes (the previous blob) carry the same tag.
import { createHash } from 'node:crypto';

import type { RedisClient } from './access.ts';

export class LuaScript {
  readonly #sha: string;

  constructor(readonly source: string) {
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, loading the script on first use (or after a Redis restart forgot it). */
  async run(redis: RedisClient, keys: string[], args: (string | number | Buffer)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * The fenced checkpoint commit. The blob was written before with a plain SET (and an expiry, so the blob of a
 * writer that dies before committing cleans itself up). This flips the pointer to it only if the version is
 * still the one the writer started from; the old blob is unlinked, the new one made permanent.
 * KEYS: checkpoint hash, new blob, audit list.
 * ARGV: expected version, chunk, tokens, cursor, bytes, result ('' for none), writer, time (ms), audit cap,
 * idle expiry in seconds (0: none; an event stream's state expires when the stream falls silent).
 * Returns {1, new version} | {0, current version} (stale; below the expected one when the store lost commits)
 * | {-1, current version} (the blob expired first).
 */
export const COMMIT = new LuaScript(`
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
-- This very write is the current checkpoint already: its reply was lost with a connection that Redis dropped
-- (a restart) and the client sent it again. The blob key carries the writer's nonce, so no other write can match;
-- refusing it would make the writer unlink the blob its own commit points to.
if redis.call('HGET', KEYS[1], 'blob') == KEYS[2] then
  return {1, current}
end
-- A document's state is dropped when it finishes (or fails), and only its audit trail stays: every writer is
-- fenced then, and told the dropped state's last version. Without this, a writer of the first chunk that was
-- paused past its lock (version 0 expected, no hash found) would bring the state back, and a late writer of a
-- later chunk would see version 0 and take the store for one that lost its data.
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('LLEN', KEYS[3]) > 0 then
  return {0, cjson.decode(redis.call('LINDEX', KEYS[3], -1)).version}
end
if current ~= tonumber(ARGV[1]) then
  return {0, current}
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  return {-1, current}
end
local old = redis.call('HGET', KEYS[1], 'blob')
redis.call('PERSIST', KEYS[2])
local version = current + 1
local published = '0'
if ARGV[6] == '' then published = '1' end
redis.call('HSET', KEYS[1], 'version', version, 'blob', KEYS[2], 'chunk', ARGV[2], 'tokens', ARGV[3],
  'cursor', ARGV[4], 'bytes', ARGV[5], 'result', ARGV[6], 'published', published, 'writer', ARGV[7], 'at', ARGV[8])
if old and old ~= KEYS[2] then
  redis.call('UNLINK', old)
end
redis.call('RPUSH', KEYS[3], cjson.encode({chunk = tonumber(ARGV[2]), version = version, tokens = tonumber(ARGV[3]),
  writer = ARGV[7], at = tonumber(ARGV[8])}))
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[9]), -1)
if tonumber(ARGV[10] or '0') > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[10])
  redis.call('EXPIRE', KEYS[2], ARGV[10])
  redis.call('EXPIRE', KEYS[3], ARGV[10])
end
return {1, version}
`);

/** KEYS: checkpoint hash. ARGV: version. Marks the outbox published if that version is still current; the result stays (streams carry their open window in it). */
export const MARK_PUBLISHED = new LuaScript(`
if redis.call('HGET', KEYS[1], 'version') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'published', '1')
  return 1
end
return 0
`);

/**
 * KEYS: checkpoint hash, audit list. ARGV: seconds the audit trail is kept. Removes a state and its blob; the
 * audit trail of its commits expires later (it shows who applied which chunk, after the fact).
 */
export const DROP_STATE = new LuaScript(`
local blob = redis.call('HGET', KEYS[1], 'blob')
if blob then
  redis.call('UNLINK', blob)
end
redis.call('UNLINK', KEYS[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
`);

/**
 * Stores one part of a document and tells whether the document is complete.
 * KEYS: parts hash, part key. ARGV: index, final (0/1), data, task JSON ('' unless final), ttl (s), max bytes.
 * Returns {'pending'} | {'complete', count, task} | {'rejected', code, reason}.
 */
export const PUT_PART = new LuaScript(`
local index = tonumber(ARGV[1])
local final = ARGV[2] == '1'
local known = redis.call('HGET', KEYS[1], 'final')
local highest = tonumber(redis.call('HGET', KEYS[1], 'max') or '-1')
if final then
  if known and tonumber(known) ~= index + 1 then
    return {'rejected', 'E_PART_CONFLICT', 'a final part with another part count arrived before (' .. known .. ' parts)'}
  end
  if highest > index then
    return {'rejected', 'E_PART_CONFLICT', 'part ' .. highest .. ' arrived, beyond this final part ' .. index}
  end
elseif known and index >= tonumber(known) then
  return {'rejected', 'E_PART_CONFLICT', 'part ' .. index .. ' is beyond the final part (' .. known .. ' parts)'}
end
local field = 'p' .. index
local previous = redis.call('HGET', KEYS[1], field)
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0') - tonumber(previous or '0') + string.len(ARGV[3])
if bytes > tonumber(ARGV[6]) then
  return {'rejected', 'E_TOO_LARGE', 'the parts add up to more than ' .. ARGV[6] .. ' bytes'}
end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[5])
redis.call('HSET', KEYS[1], field, string.len(ARGV[3]), 'bytes', bytes)
if not previous then
  redis.call('HINCRBY', KEYS[1], 'received', 1)
end
if index > highest then
  redis.call('HSET', KEYS[1], 'max', index)
end
if final then
  redis.call('HSET', KEYS[1], 'final', index + 1, 'task', ARGV[4])
  known = tostring(index + 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
if known and tonumber(redis.call('HGET', KEYS[1], 'received')) == tonumber(known) then
  return {'complete', tonumber(known), redis.call('HGET', KEYS[1], 'task')}
end
return {'pending'}
`);

/**
 * Creates a planned document once. KEYS: record hash, then the token segment keys of this attempt.
 * ARGV: record JSON. Returns 1 (created: segments made permanent), {record, status} (it existed), or
 * 0 (a segment had expired: the attempt is void).
 */
export const CREATE_DOCUMENT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HMGET', KEYS[1], 'record', 'status')
end
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    return 0
  end
end
for i = 2, #KEYS do
  redis.call('PERSIST', KEYS[i])
end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'status', 'running')
return 1
`);

/** KEYS: result hash. ARGV: json, ttl (s). Keeps the first result; returns {json, published}. */
export const SAVE_DOCUMENT_RESULT = new LuaScript(`
redis.call('HSETNX', KEYS[1], 'json', ARGV[1])
redis.call('HSETNX', KEYS[1], 'published', '0')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('HMGET', KEYS[1], 'json', 'published')
`);

/**
 * Takes in one event unless its record was taken in before (offsets only grow within a partition) or its id is
 * among the stream's last remembered ids (a producer wrote it twice). A duplicate by id still advances the
 * record's offset, so its own redelivery is recognised by offset even after the id left the horizon.
 * Every key of the stream (and its checkpoint's blob) then expires after the idle time: a stream that falls
 * silent leaves nothing behind. A stream whose waiting events reached the cap takes no more (refused before
 * the offset is recorded, so the record's redelivery is refused again rather than taken for a duplicate); the
 * log is also trimmed to about that length as it is appended to.
 * KEYS: offsets hash, events stream, checkpoint hash, ids sorted set.
 * ARGV: "<topic>/<partition>", offset, event JSON, event id ('' for none), how many ids to remember,
 * idle expiry (s), most waiting events.
 * Returns {appended (1, 0: a duplicate, -1: refused, the backlog is full), events waiting after the checkpoint's
 * cursor, the checkpoint's next batch}.
 */
export const APPEND_EVENT = new LuaScript(`
local cursor = tonumber(redis.call('HGET', KEYS[3], 'cursor') or '0')
local batch = tonumber(redis.call('HGET', KEYS[3], 'chunk') or '0')
local last = redis.call('HGET', KEYS[1], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then
  local seq = tonumber(redis.call('HGET', KEYS[1], '#seq') or '0')
  return {0, seq - cursor, batch}
end
local waiting = tonumber(redis.call('HGET', KEYS[1], '#seq') or '0') - cursor
if waiting >= tonumber(ARGV[7]) then
  return {-1, waiting, batch}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] ~= '' and redis.call('ZSCORE', KEYS[4], ARGV[4]) then
  local seq = tonumber(redis.call('HGET', KEYS[1], '#seq') or '0')
  return {0, seq - cursor, batch}
end
local seq = redis.call('HINCRBY', KEYS[1], '#seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], seq .. '-0', 'e', ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[4], seq, ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(ARGV[5]) + 1))
end
for i = 1, 4 do
  redis.call('EXPIRE', KEYS[i], ARGV[6])
end
local blob = redis.call('HGET', KEYS[3], 'blob')
if blob then
  redis.call('EXPIRE', blob, ARGV[6])
end
return {1, seq - cursor, batch}
`);

/**
 * The registry of live event streams (one sorted set, scored by the last time each took an event in), which
 * holds their number under a cap. Streams silent for longer than the idle time have expired and leave it.
 * KEYS: registry. ARGV: stream id, now (ms), idle time (ms), most live streams.
 * Returns 1 (a live stream, its time refreshed) or 0 (a new stream, refused: the cap is reached).
 */
export const REGISTER_STREAM = new LuaScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
`);

/**
 * Clears what a failed (or never planned) document left under its id, atomically with the check that no
 * document under it is running or done. KEYS: record, result, sections, audit trail, checkpoint.
 * Returns 1 (cleared) or 0 (a live or finished document: untouched).
 */
export const REOPEN_FAILED = new LuaScript(`
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'failed' then
  return 0
end
local blob = redis.call('HGET', KEYS[5], 'blob')
if blob then
  redis.call('UNLINK', blob)
end
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return 1
`);

/**
 * Claims the documents whose parts were due to expire by now (one worker gets each: the claim removes it).
 * KEYS: the pending-parts registry. ARGV: now (ms), most to claim. Returns the claimed document ids.
 */
export const CLAIM_DUE_PARTS = new LuaScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then
  redis.call('ZREM', KEYS[1], unpack(due))
end
return due
`);
