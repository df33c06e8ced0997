// ResultSink and DeadLetterSink on Kafka: results keyed by document or stream id, dead letters keyed by
// their subject (when known) with the code in a header, so tooling can filter without parsing.
import type { Producer } from 'kafkajs';

import type { DeadLetterSink, ResultSink } from '../../pipelines/ports.ts';
import type { Topics } from '../../schemas/config.ts';
import type { DeadLetter } from '../../schemas/dead-letter.ts';

export class KafkaResultSink implements ResultSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async publish(key: string, json: string): Promise<void> {
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key, value: json }] });
  }
}

export class KafkaDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async publish(letter: DeadLetter): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key: letter.subject?.id ?? null, value: JSON.stringify(letter), headers: { code: letter.code, stage: letter.stage } }],
    });
  }
}

export function kafkaSinks(producer: Producer, topics: Topics): { results: ResultSink; deadLetters: DeadLetterSink } {
  return { results: new KafkaResultSink(producer, topics.results), deadLetters: new KafkaDeadLetterSink(producer, topics.deadLetter) };
}
