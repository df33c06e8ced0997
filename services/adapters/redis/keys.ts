// Redis key layout. Every key of one document (or stream) shares the hash tag {doc:<id>} ({stream:<id>}), so
// in a Redis Cluster they live in one slot and the Lua scripts that touch several of them stay legal.
//
//   <p>:{doc:<id>}:record              hash: record (plan JSON), status
//   <p>:{doc:<id>}:parts               hash: p<i> (size), received, bytes, max, final, task
//   <p>:{doc:<id>}:part:<i>            one part's bytes
//   <p>:{doc:<id>}:tokens:<nonce>:<s>  token ids (int32 LE), segment s of a planning attempt
//   <p>:{<kind>:<id>}:ckpt             hash: version, chunk, tokens, cursor, bytes, blob, result, published, writer, at
//   <p>:{<kind>:<id>}:blob:<v>:<nonce> the state blob of version v (immutable)
//   <p>:{<kind>:<id>}:audit            list: "chunk version tokens writer time" per commit (capped)
//   <p>:{<kind>:<id>}:result           hash: json, published
//   <p>:{doc:<id>}:sections            hash: <section index> -> section result JSON
//   <p>:{stream:<id>}:history          sorted set: the stream's last batch results (JSON), scored by batch index
//   <p>:{stream:<id>}:events           stream of waiting events (entry id = sequence number)
//   <p>:{stream:<id>}:offsets          hash: "<topic>/<partition>" -> last offset taken in, "#seq" -> last sequence
//   <p>:{stream:<id>}:ids              sorted set: the last event ids taken in, scored by sequence number
//   <p>:<queue>:...  or, on a Cluster, {<p>}:<queue>:...   BullMQ's keys of the ingest and chunks queues
//   <p>:results                        stream of published results (no Kafka): key, json (trimmed to a length)
//   <p>:dead-letter                    stream of dead letters (no Kafka): key, code, stage, json (trimmed)
//   <p>:streams                        sorted set: live stream ids, scored by when each last took an event in
//   <p>:parts-pending                  sorted set: documents with parts but no complete set yet, scored by when
//                                      their parts expire
//
// A stream's keys expire after the stream's idle time (refreshed by every event and every commit).
import type { StateKey } from '../../../pipelines/ports.ts';

export class Keys {
  /**
   * Prefix of the BullMQ queues. On a Redis Cluster it is the hash tag {<prefix>}: BullMQ's scripts touch
   * several keys of a queue at once, so all of a queue's keys must share one slot.
   */
  readonly queuePrefix: string;

  constructor(
    readonly prefix: string,
    options: { cluster?: boolean } = {},
  ) {
    this.queuePrefix = options.cluster ? `{${prefix}}` : prefix;
  }

  #tag(kind: StateKey['kind'], id: string): string {
    return `${this.prefix}:{${kind === 'document' ? 'doc' : 'stream'}:${id}}`;
  }

  record(doc: string): string {
    return `${this.#tag('document', doc)}:record`;
  }

  parts(doc: string): string {
    return `${this.#tag('document', doc)}:parts`;
  }

  part(doc: string, index: number): string {
    return `${this.#tag('document', doc)}:part:${index}`;
  }

  tokens(doc: string, nonce: string, segment: number): string {
    return `${this.#tag('document', doc)}:tokens:${nonce}:${segment}`;
  }

  checkpoint(key: StateKey): string {
    return `${this.#tag(key.kind, key.id)}:ckpt`;
  }

  blob(key: StateKey, version: number, nonce: string): string {
    return `${this.#tag(key.kind, key.id)}:blob:${version}:${nonce}`;
  }

  audit(key: StateKey): string {
    return `${this.#tag(key.kind, key.id)}:audit`;
  }

  result(kind: StateKey['kind'], id: string): string {
    return `${this.#tag(kind, id)}:result`;
  }

  sections(doc: string): string {
    return `${this.#tag('document', doc)}:sections`;
  }

  history(stream: string): string {
    return `${this.#tag('stream', stream)}:history`;
  }

  events(stream: string): string {
    return `${this.#tag('stream', stream)}:events`;
  }

  offsets(stream: string): string {
    return `${this.#tag('stream', stream)}:offsets`;
  }

  eventIds(stream: string): string {
    return `${this.#tag('stream', stream)}:ids`;
  }

  /** Where results are published when the deployment has no Kafka. */
  resultStream(): string {
    return `${this.prefix}:results`;
  }

  /** Where dead letters are published when the deployment has no Kafka. */
  deadLetterStream(): string {
    return `${this.prefix}:dead-letter`;
  }

  /** The registry of live streams (its own key: no Lua script touches it together with a stream's keys). */
  streams(): string {
    return `${this.prefix}:streams`;
  }

  /** Documents whose parts are waiting for the rest (its own key, like the stream registry). */
  partsPending(): string {
    return `${this.prefix}:parts-pending`;
  }

  /** A dead letter too large for its topic, kept here (its reference went to the topic). */
  deadLetter(id: string): string {
    return `${this.prefix}:dead-letter:${id}`;
  }

  /** Every key of this deployment (for tests and tooling that clear a namespace). */
  pattern(): string {
    return `${this.prefix}:*`;
  }
}
