#!/usr/bin/env -S python3
"""Writes examples/app.log: a host's syslog (seeded, from generate_logs.py) with a few anomalies a person would
want to see: an OOM kill, a brute-force login attempt, a segfault, a base64 blob and an error in Russian.
The README's first command scans it. Usage: python3 make_example.py [--out ../../examples/app.log]"""
import argparse
import os
import random

from generate_logs import Clock, syslog_line

HERE = os.path.dirname(os.path.abspath(__file__))

ANOMALIES = {
    40: 'kernel: [812345.118204] Out of memory: Killed process 23145 (java) total-vm:8388608kB, anon-rss:6291456kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:14336kB oom_score_adj:0',
    71: 'sshd[4121]: Failed password for invalid user admin from 185.220.101.4 port 50122 ssh2',
    72: 'sshd[4123]: Failed password for invalid user oracle from 185.220.101.4 port 50130 ssh2',
    98: 'kernel: [815022.402211] worker[2210]: segfault at 0000000000000010 ip 00007f3a2b1c4d5e sp 00007ffd9a8b7c60 error 4 in libc.so.6[7f3a2b000000+195000]',
    121: 'backup.sh[991]: U2FsdGVkX1+vupppZksvRf5pq5g5XjFRlipRkwB0K1Y96Qsv2Lm+31cmzaAILwytX/z66ZVWEQM/ccf1g+9m5Ubu1+sit+A9cenD',
    137: 'billing[3310]: Ошибка: не удалось подключиться к базе данных, повторная попытка через 5 секунд',
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default=os.path.join(HERE, '..', '..', 'examples', 'app.log'))
    parser.add_argument('--seed', type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    clock = Clock(rng)
    lines = []
    while len(lines) < 160:
        if len(lines) in ANOMALIES:
            clock.tick(5)
            lines.append(f'{clock.syslog()} localhost {ANOMALIES[len(lines)]}')
        else:
            lines += syslog_line(rng, clock)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(''.join(l + '\n' for l in lines))
    print(f'wrote {args.out}: {len(lines)} lines, {len(ANOMALIES)} anomalies')


if __name__ == '__main__':
    main()
