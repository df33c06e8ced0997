// `rwkvstream send-events --stream KEY [FILE|-]`: publishes one event per line of a log to the events topic, for
// the workers to score (`rwkvstream result --stream KEY --follow` prints their batches). The brokers, the topic
// and the longest event come from the configuration (--kafka, KAFKA_BROKERS, the config file), as a worker's do.
// With --key-field F each line is a JSON object whose field F names its stream; with --follow a growing file is
// read on, across rotation, until Ctrl-C.
import path from 'node:path';

import type { Command } from 'commander';

import { addCommandSettings } from '../../config/flags.ts';
import type { ConfigFlags } from '../../config/index.ts';
import type { SendLine } from '../../adapters/kafka/send-events.ts';
import { UsageError, parseFlags, signalExit } from '../output.ts';

interface SendEventsFlags extends ConfigFlags {
  stream?: string;
  keyField?: string;
  follow?: boolean;
  quiet?: boolean;
}

export function sendEventsCommand(program: Command): void {
  const cmd = program
    .command('send-events')
    .description('publish one event per line of a log (or standard input) to the events topic')
    .argument('[file]', 'the log ("-": standard input, read as it arrives)', '-')
    .option('--stream <key>', 'the stream id of the events (with --key-field: of the lines without that field)')
    .option('--key-field <field>', 'each line is a JSON object: its field F is the stream id')
    .option('--follow', 'keep reading the file as it grows, and across rotation, like tail -F (until Ctrl-C)')
    .option('--quiet', 'no messages about skipped lines, nor the closing count');
  addCommandSettings(cmd, 'send-events').action(async (file: string, flags: SendEventsFlags) => {
    if (flags.stream === undefined && flags.keyField === undefined)
      throw new UsageError('give --stream KEY, or --key-field F for JSON lines');
    const { StreamIdSchema } = await import('../../../schemas/ids.ts');
    const { fileLines } = await import('../../embedded/follow.ts');
    const { streamLines, untilStopped } = await import('../../adapters/files/lines.ts');
    const { loadConfig } = await import('../../config/index.ts');
    const { createKafka, createProducer, requireKafka } = await import('../../adapters/kafka/client.ts');
    const { kafkaAccessFrom } = await import('../../adapters/kafka/security.ts');
    const { sendEvents } = await import('../../adapters/kafka/send-events.ts');
    const { silentLogger } = await import('../../log.ts');
    const { printable } = await import('../result-text.ts');
    const stream = flags.stream === undefined ? undefined : parseFlags(StreamIdSchema, flags.stream, '--stream');
    if (flags.follow && file === '-')
      throw new UsageError('--follow is for a file; standard input is read as it arrives anyway');
    const loaded = await loadConfig({ flags });
    const { config } = loaded;
    // Longer lines are skipped with a message: the workers would refuse them.
    const maxEventBytes = config.worker.maxEventBytes;
    const access = await kafkaAccessFrom(loaded);
    await requireKafka(access);

    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (stop.signal.aborted) process.exit(signalExit(signal));
      stop.abort(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const lines: AsyncIterable<SendLine> =
      file === '-'
        ? streamLines(process.stdin, maxEventBytes, stop.signal)
        : fileLines(path.resolve(file), null, {
            maxLineBytes: maxEventBytes,
            follow: flags.follow === true,
            signal: stop.signal,
          });
    const kafka = createKafka(access, 'rwkvstream-send-events', silentLogger());
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      const sent = await sendEvents(producer, untilStopped(lines, stop.signal), {
        topic: config.topics.events,
        ...(stream === undefined ? {} : { stream }),
        ...(flags.keyField === undefined ? {} : { keyField: flags.keyField }),
        maxEventBytes,
        onSkipped: (line, reason) => {
          if (flags.quiet !== true) process.stderr.write(`rwkvstream: line ${line} not sent: ${printable(reason)}\n`);
        },
      });
      if (flags.quiet !== true) process.stderr.write(`rwkvstream: ${sent} event${sent === 1 ? '' : 's'} sent\n`);
      if (stop.signal.aborted) process.exitCode = signalExit(stop.signal.reason as NodeJS.Signals);
    } finally {
      await producer.disconnect();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (file === '-') process.stdin.destroy();
    }
  });
}
