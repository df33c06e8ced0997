// ResultSink and DeadLetterSink on Kafka: results keyed by document or stream id, dead letters keyed by
// their subject (when known) with the code in a header, so tooling can filter without parsing.
import type { Producer } from 'kafkajs';

import type { DeadLetterSink, ResultSink } from '../../../pipelines/ports.ts';
import type { Topics } from '../../../schemas/config.ts';
import type { DeadLetter } from '../../../schemas/dead-letter.ts';
import type { DeadLetterOverflow } from '../redis/dead-letter-store.ts';

export class KafkaResultSink implements ResultSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async publish(key: string, json: string): Promise<void> {
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key, value: json }] });
  }
}

/** The broker's refusal of a message for its size (kafkajs reports it in the error or its cause). */
function tooLarge(err: unknown): boolean {
  for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  }
  return false;
}

export class KafkaDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    /** Where a letter too large for the topic is kept (none: the send error is thrown). */
    private readonly overflow?: DeadLetterOverflow,
  ) {}

  async publish(letter: DeadLetter): Promise<void> {
    const json = JSON.stringify(letter);
    try {
      await this.#send(letter, json);
    } catch (err) {
      if (!this.overflow || !tooLarge(err)) throw err;
      // A dead letter must never stop the consumer: the whole letter goes to Redis, a reference to the topic.
      const reason = `the dead letter has ${Buffer.byteLength(json)} bytes, more than the dead-letter topic accepts`;
      await this.#send(letter, JSON.stringify(await this.overflow(letter, json, reason)));
    }
  }

  #send(letter: DeadLetter, value: string): Promise<unknown> {
    return this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key: letter.subject?.id ?? null, value, headers: { code: letter.code, stage: letter.stage } }],
    });
  }
}

export function kafkaSinks(
  producer: Producer,
  topics: Topics,
  overflow?: DeadLetterOverflow,
): { results: ResultSink; deadLetters: DeadLetterSink } {
  return {
    results: new KafkaResultSink(producer, topics.results),
    deadLetters: new KafkaDeadLetterSink(producer, topics.deadLetter, overflow),
  };
}
