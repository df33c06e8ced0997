#!/usr/bin/env -S python3
"""Captures the real service logs of this machine into samples/{train,heldout}/, sanitized.

The log model is trained on generated logs plus these real ones; the benchmark scores the held-out part. Each
source is split by position: its first 70% of lines go to training, the rest is held out, so the evaluation
reads later lines of the same services than the model saw (as a deployed model would).

Sanitizing: the host name becomes "localhost", random node names and ids of one run (NATS server keys, Kafka
directory ids) are replaced by fixed placeholders of the same shape, and lines longer than 600 bytes are
dropped (apt's progress lines). Only localhost addresses occur in these logs.

Usage: python3 capture_logs.py [--out DIR] [--kafka-log FILE] [--max-lines N]
"""
import argparse
import glob
import os
import re
import socket

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> candidate files (first that exists and is readable wins; globs allowed)
SOURCES = {
    'rabbitmq': ['/var/log/rabbitmq/rabbit@localhost.log', '/var/log/rabbitmq/rabbit@*.log'],
    'kafka': ['/tmp/rwkvstream-kafka-*/kafka.log'],
    'redis': ['/var/log/redis/*.log'],
    'postgresql': ['/var/log/postgresql/postgresql-*-main.log'],
    'nats': ['/var/log/nats-server.log'],
    'dpkg': ['/var/log/dpkg.log'],
    'apt-history': ['/var/log/apt/history.log'],
    'apt-term': ['/var/log/apt/term.log'],
}

TRAIN_FRACTION = 0.7


def first_readable(patterns):
    for pattern in patterns:
        for file in sorted(glob.glob(pattern)):
            if os.path.isfile(file) and os.access(file, os.R_OK) and os.path.getsize(file) > 0:
                return file
    return None


def sanitizer():
    host = socket.gethostname()
    rules = [
        (re.compile(r'\b[A-Z0-9]{56}\b'), 'NAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),  # NATS server key
        (re.compile(r'(directoryId=|localDirectoryId=)(?!Optional)[A-Za-z0-9_-]{22}'), r'\1AAAAAAAAAAAAAAAAAAAAAA'),
        (re.compile(r'(cluster\.id=|clusterId=|cluster ID )[A-Za-z0-9_-]{22}'), r'\1AAAAAAAAAAAAAAAAAAAAAA'),
    ]
    host_re = re.compile(r'\b' + re.escape(host) + r'\b') if host and host != 'localhost' else None

    def clean(line):
        if host_re:
            line = host_re.sub('localhost', line)
        for pattern, repl in rules:
            line = pattern.sub(repl, line)
        return line
    return clean


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default=os.path.join(HERE, 'samples'))
    parser.add_argument('--kafka-log', help='the broker log, when not under /tmp/rwkvstream-kafka-*/')
    parser.add_argument('--max-lines', type=int, default=1500, help='per source (the newest lines are kept)')
    args = parser.parse_args()
    if args.kafka_log:
        SOURCES['kafka'] = [args.kafka_log]
    clean = sanitizer()
    for split in ('train', 'heldout'):
        os.makedirs(os.path.join(args.out, split), exist_ok=True)
    for name, patterns in SOURCES.items():
        file = first_readable(patterns)
        if not file:
            print(f'{name}: no readable log, skipped')
            continue
        with open(file, 'rb') as f:
            raw = f.read().decode('utf-8', errors='replace')
        lines = [clean(l.rstrip('\r')) for l in raw.split('\n')]
        lines = [l for l in lines if l.strip() and len(l.encode()) <= 600][-args.max_lines:]
        cut = int(len(lines) * TRAIN_FRACTION)
        for split, part in (('train', lines[:cut]), ('heldout', lines[cut:])):
            with open(os.path.join(args.out, split, f'{name}.log'), 'w', encoding='utf-8') as f:
                f.write(''.join(l + '\n' for l in part))
        print(f'{name}: {file}: {cut} train, {len(lines) - cut} held-out lines')


if __name__ == '__main__':
    main()
