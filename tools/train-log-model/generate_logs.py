#!/usr/bin/env python3
"""Seeded generator of common log formats: the bulk of the log model's training text.

Each call of `generate_file(rng, kind, lines)` returns one log "file" of a single format, as a real log file
is: HTTP access logs (combined format), syslog (sshd, cron, systemd, kernel, postfix), JSON lines (pino-style
workers, structured services), Java/log4j application logs, Python logging, nginx error logs, Go services,
Kubernetes-style key=value logs. Stack traces occur rarely (in moderation), since an unexpected one is among
the things a scan should notice.

Only the seed decides the output: `python3 generate_logs.py --seed 7 --lines 200 --kind access` prints a sample.
"""
import argparse
import json
import random
import string

USERS = ['alice', 'bob', 'carol', 'deploy', 'svc-backup', 'ci', 'dave', 'erin', 'www-data', 'postgres']
PATHS = ['/', '/index.html', '/api/v1/users', '/api/v1/orders', '/api/v1/orders/{id}', '/api/v2/search?q={word}',
         '/static/app.{hex}.js', '/static/style.{hex}.css', '/healthz', '/metrics', '/login', '/logout',
         '/api/v1/items/{id}/reviews', '/favicon.ico', '/robots.txt', '/api/v1/cart', '/checkout', '/docs/{word}',
         '/images/{word}.png', '/api/v1/sessions', '/graphql', '/api/v1/payments/{id}', '/feed.xml']
WORDS = ['alpha', 'report', 'invoice', 'shoes', 'laptop', 'garden', 'cache', 'summary', 'billing', 'queue',
         'monitor', 'export', 'backup', 'profile', 'settings', 'search', 'orders', 'account', 'session', 'index']
AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0',
          'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15',
          'curl/7.88.1', 'kube-probe/1.28', 'Prometheus/2.48.0', 'python-requests/2.31.0', 'Go-http-client/1.1',
          'Googlebot/2.1 (+http://www.google.com/bot.html)', 'okhttp/4.12.0']
METHODS = ['GET'] * 12 + ['POST'] * 4 + ['PUT', 'DELETE', 'HEAD', 'PATCH']
STATUSES = [200] * 30 + [201, 204, 301, 302, 304, 304, 400, 401, 403, 404, 404, 500, 502, 503]
SERVICES = ['api', 'billing', 'auth', 'search', 'orders', 'inventory', 'gateway', 'notifier', 'scheduler', 'worker']
JAVA_PKGS = ['com.example.orders', 'com.example.billing', 'org.acme.gateway', 'io.shop.inventory', 'net.corp.auth']
JAVA_CLASSES = ['OrderService', 'PaymentClient', 'RequestFilter', 'CacheManager', 'SessionStore', 'KafkaListener',
                'JdbcTemplate', 'HttpServer', 'Scheduler', 'RetryPolicy', 'TokenValidator', 'MetricsReporter']
MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
LEVELS = ['INFO'] * 14 + ['DEBUG'] * 4 + ['WARN'] * 2 + ['ERROR']


class Clock:
    """A log's time: starts somewhere in 2024-2026 and moves forward by small random steps."""

    def __init__(self, rng):
        self.rng = rng
        self.t = rng.uniform(1.70e9, 1.79e9)

    def tick(self, scale=2.0):
        self.t += self.rng.expovariate(1.0 / scale)
        return self.t

    def parts(self):
        import time
        tm = time.gmtime(self.t)
        ms = int((self.t % 1) * 1000)
        us = int((self.t % 1) * 1e6)
        return tm, ms, us

    def iso(self, frac='ms', z=True):
        tm, ms, us = self.parts()
        base = f'{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}'
        base += f'.{ms:03d}' if frac == 'ms' else f'.{us:06d}' if frac == 'us' else ''
        return base + ('Z' if z else '')

    def space(self, comma=False):
        tm, ms, _ = self.parts()
        sep = ',' if comma else '.'
        return f'{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}{sep}{ms:03d}'

    def syslog(self):
        tm, _, _ = self.parts()
        return f'{MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}'

    def clf(self):
        tm, _, _ = self.parts()
        return f'{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000'

    def epoch_ms(self):
        return int(self.t * 1000)


def ip(rng):
    kind = rng.random()
    if kind < 0.5:
        return f'10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}'
    if kind < 0.7:
        return f'192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}'
    if kind < 0.8:
        return '127.0.0.1'
    return f'{rng.choice([198, 203, 172])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}'


def hexs(rng, n):
    return ''.join(rng.choice('0123456789abcdef') for _ in range(n))


def uuid(rng):
    return f'{hexs(rng, 8)}-{hexs(rng, 4)}-4{hexs(rng, 3)}-{rng.choice("89ab")}{hexs(rng, 3)}-{hexs(rng, 12)}'


def fill(rng, template):
    return (template.replace('{id}', str(rng.randrange(1, 99999))).replace('{word}', rng.choice(WORDS))
            .replace('{hex}', hexs(rng, 8)))


def java_trace(rng, exc=None):
    exc = exc or rng.choice(['java.lang.NullPointerException', 'java.io.IOException: Connection reset by peer',
                             'java.util.concurrent.TimeoutException', 'java.lang.IllegalStateException: closed'])
    lines = [exc]
    for _ in range(rng.randrange(3, 9)):
        pkg, cls = rng.choice(JAVA_PKGS), rng.choice(JAVA_CLASSES)
        method = rng.choice(['handle', 'process', 'run', 'call', 'apply', 'execute', 'lambda$0', 'invoke'])
        lines.append(f'\tat {pkg}.{cls}.{method}({cls}.java:{rng.randrange(20, 900)})')
    return lines


def python_trace(rng):
    lines = ['Traceback (most recent call last):']
    for _ in range(rng.randrange(2, 6)):
        mod = rng.choice(['app/views.py', 'app/models.py', 'lib/client.py', 'worker/tasks.py', 'db/session.py'])
        lines.append(f'  File "/srv/{mod}", line {rng.randrange(10, 700)}, in {rng.choice(["handle", "run", "get", "save", "fetch"])}')
        lines.append(f'    {rng.choice(["result = self.client.get(url)", "row = cursor.fetchone()", "return json.loads(body)", "self.save()"])}')
    lines.append(rng.choice(['KeyError: \'user_id\'', 'ValueError: invalid literal for int() with base 10: \'\'',
                             'ConnectionError: [Errno 111] Connection refused', 'TimeoutError: timed out']))
    return lines


def access_line(rng, clock):
    clock.tick(0.5)
    method, path = rng.choice(METHODS), fill(rng, rng.choice(PATHS))
    status = rng.choice(STATUSES)
    size = 0 if status in (204, 304) else rng.randrange(120, 60000)
    ref = '-' if rng.random() < 0.6 else f'https://shop.example.com{fill(rng, rng.choice(PATHS))}'
    user = '-' if rng.random() < 0.9 else rng.choice(USERS)
    line = f'{ip(rng)} - {user} [{clock.clf()}] "{method} {path} HTTP/1.1" {status} {size} "{ref}" "{rng.choice(AGENTS)}"'
    if rng.random() < 0.3:
        line += f' rt={rng.uniform(0.001, 1.5):.3f}'
    return [line]


def syslog_line(rng, clock, host='localhost'):
    clock.tick(5)
    ts = clock.syslog()
    pid = rng.randrange(300, 65000)
    kind = rng.random()
    if kind < 0.2:
        msg = rng.choice([f'Accepted publickey for {rng.choice(USERS)} from {ip(rng)} port {rng.randrange(1024, 65535)} ssh2: ED25519 SHA256:{hexs(rng, 12)}',
                          f'pam_unix(sshd:session): session opened for user {rng.choice(USERS)}(uid={rng.randrange(1000, 1010)}) by (uid=0)',
                          f'pam_unix(sshd:session): session closed for user {rng.choice(USERS)}',
                          f'Received disconnect from {ip(rng)} port {rng.randrange(1024, 65535)}:11: disconnected by user'])
        return [f'{ts} {host} sshd[{pid}]: {msg}']
    if kind < 0.4:
        msg = rng.choice([f'({rng.choice(USERS)}) CMD (/usr/local/bin/{rng.choice(WORDS)}.sh > /dev/null 2>&1)',
                          f'(root) CMD (test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily ))',
                          f'pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)',
                          f'pam_unix(cron:session): session closed for user root'])
        return [f'{ts} {host} CRON[{pid}]: {msg}']
    if kind < 0.7:
        unit = rng.choice(['nginx.service', 'postgresql.service', 'redis-server.service', 'docker.service',
                           'logrotate.service', 'apt-daily.service', 'certbot.timer', 'sysstat-collect.service'])
        msg = rng.choice([f'Starting {unit[:-8]}...', f'Started {unit}.', f'{unit}: Deactivated successfully.',
                          f'{unit}: Consumed {rng.uniform(0.01, 9):.3f}s CPU time.', f'Reloading {unit}...',
                          f'Finished {unit}.', f'{unit}: Succeeded.'])
        return [f'{ts} {host} systemd[1]: {msg}']
    if kind < 0.85:
        msg = rng.choice([f'{hexs(rng, 10).upper()}: to=<{rng.choice(USERS)}@example.com>, relay=mail.example.com[{ip(rng)}]:25, delay={rng.uniform(0.1, 3):.1f}, status=sent (250 2.0.0 OK)',
                          f'connect from unknown[{ip(rng)}]', f'disconnect from unknown[{ip(rng)}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5'])
        return [f'{ts} {host} postfix/smtp[{pid}]: {msg}']
    up = rng.uniform(1, 9e5)
    msg = rng.choice([f'eth0: Link is Up - 1Gbps/Full - flow control rx/tx', f'EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro',
                      f'audit: type=1400 audit({int(clock.t)}.{rng.randrange(1000):03d}:{rng.randrange(100, 999)}): apparmor="STATUS" operation="profile_replace" name="/usr/sbin/ntpd" pid={pid}',
                      f'IPv6: ADDRCONF(NETDEV_CHANGE): veth{hexs(rng, 7)}: link becomes ready',
                      f'docker0: port {rng.randrange(1, 9)}(veth{hexs(rng, 7)}) entered forwarding state'])
    return [f'{ts} {host} kernel: [{up:12.6f}] {msg}']


def pino_line(rng, clock, name):
    clock.tick(1)
    level = rng.choice([30] * 12 + [20] * 3 + [40, 50])
    msg = rng.choice(['job completed', 'chunk processed', 'checkpoint committed', 'connected to redis',
                      'worker started', 'lock renewed', 'batch scored', 'message consumed', 'request handled',
                      'retrying after error', 'stream resumed', 'cache miss', 'queue drained', 'heartbeat'])
    rec = {'level': level, 'time': clock.epoch_ms(), 'pid': rng.randrange(1000, 60000), 'hostname': 'localhost',
           'name': name, 'msg': msg}
    extra = rng.random()
    if extra < 0.4:
        rec['jobId'] = f'{rng.choice(WORDS)}-{hexs(rng, 10)}'
        rec['ms'] = rng.randrange(1, 5000)
    elif extra < 0.7:
        rec['reqId'] = uuid(rng)
        rec['statusCode'] = rng.choice(STATUSES)
        rec['responseTime'] = round(rng.uniform(0.2, 900), 3)
    elif extra < 0.85:
        rec['partition'] = rng.randrange(0, 12)
        rec['offset'] = str(rng.randrange(0, 10 ** 7))
    if level == 50 and rng.random() < 0.5:
        rec['err'] = {'type': 'Error', 'message': rng.choice(['ECONNRESET', 'timeout after 5000ms', 'lock lost'])}
    return [json.dumps(rec, separators=(',', ':'))]


def json_service_line(rng, clock, service):
    clock.tick(1)
    rec = {'ts': clock.iso('ms'), 'level': rng.choice(['info'] * 10 + ['debug'] * 3 + ['warn', 'error']),
           'service': service, 'trace_id': hexs(rng, 32)}
    kind = rng.random()
    if kind < 0.5:
        rec.update({'msg': 'http request', 'method': rng.choice(METHODS), 'path': fill(rng, rng.choice(PATHS)),
                    'status': rng.choice(STATUSES), 'duration_ms': round(rng.uniform(0.5, 1200), 1)})
    elif kind < 0.8:
        rec.update({'msg': rng.choice(['db query', 'cache get', 'publish event']), 'table': rng.choice(WORDS),
                    'rows': rng.randrange(0, 500), 'duration_ms': round(rng.uniform(0.1, 300), 2)})
    else:
        rec.update({'msg': rng.choice(['user login', 'token refreshed', 'order placed', 'payment captured']),
                    'user_id': rng.randrange(1, 10 ** 6)})
    return [json.dumps(rec, separators=(', ', ': ') if rng.random() < 0.1 else (',', ':'))]


def java_line(rng, clock, trace_rate):
    clock.tick(1)
    level = rng.choice(LEVELS)
    pkg, cls = rng.choice(JAVA_PKGS), rng.choice(JAVA_CLASSES)
    thread = rng.choice(['main', 'http-nio-8080-exec-' + str(rng.randrange(1, 40)), 'pool-1-thread-' + str(rng.randrange(1, 9)),
                         'kafka-consumer-' + str(rng.randrange(1, 5)), 'scheduling-1'])
    msg = rng.choice([f'Processed order {rng.randrange(10 ** 5, 10 ** 6)} in {rng.randrange(2, 900)} ms',
                      f'Cache hit ratio {rng.uniform(0.5, 1):.2f} over {rng.randrange(100, 10000)} lookups',
                      f'Connection pool stats: active={rng.randrange(0, 20)}, idle={rng.randrange(0, 20)}, waiting={rng.randrange(0, 3)}',
                      f'Received {rng.randrange(1, 500)} records from partition {rng.choice(WORDS)}-{rng.randrange(0, 12)}',
                      f'Committed offsets for group {rng.choice(WORDS)}-consumers',
                      f'Request {uuid(rng)} completed with status {rng.choice(STATUSES)}',
                      f'Scheduled task {rng.choice(WORDS)}Job finished',
                      f'Retrying request to {rng.choice(SERVICES)}-service (attempt {rng.randrange(1, 4)}/3)'])
    lines = [f'{clock.space(comma=True)} {level:5s} [{thread}] {pkg}.{cls} - {msg}']
    if level == 'ERROR' and rng.random() < trace_rate:
        lines += java_trace(rng)
    return lines


def python_line(rng, clock, trace_rate):
    clock.tick(1)
    level = rng.choice(LEVELS).replace('WARN', 'WARNING')
    logger = rng.choice(['app', 'app.views', 'celery.worker', 'urllib3.connectionpool', 'sqlalchemy.engine', 'gunicorn.error'])
    msg = rng.choice([f'Task {rng.choice(WORDS)}.{rng.choice(WORDS)}[{uuid(rng)}] succeeded in {rng.uniform(0.01, 20):.3f}s',
                      f'Starting new HTTPS connection (1): {rng.choice(SERVICES)}.example.com:443',
                      f'"GET /api/{rng.choice(WORDS)} HTTP/1.1" {rng.choice(STATUSES)} {rng.randrange(100, 9000)}',
                      f'Booting worker with pid: {rng.randrange(100, 60000)}',
                      f'SELECT {rng.choice(WORDS)}.id FROM {rng.choice(WORDS)} WHERE id = %(id_1)s',
                      f'Received task: {rng.choice(WORDS)}.sync[{uuid(rng)}]'])
    lines = [f'{clock.space(comma=True)} {level} {logger}: {msg}' if rng.random() < 0.5
             else f'[{clock.space(comma=True)}: {level}/MainProcess] {msg}']
    if level == 'ERROR' and rng.random() < trace_rate:
        lines += python_trace(rng)
    return lines


def nginx_error_line(rng, clock):
    clock.tick(20)
    tm, _, _ = clock.parts()
    ts = f'{tm.tm_year:04d}/{tm.tm_mon:02d}/{tm.tm_mday:02d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}'
    msg = rng.choice([f'upstream timed out (110: Connection timed out) while reading response header from upstream',
                      f'open() "/var/www/html{fill(rng, rng.choice(PATHS))}" failed (2: No such file or directory)',
                      f'client intended to send too large body: {rng.randrange(10 ** 6, 10 ** 8)} bytes',
                      f'upstream prematurely closed connection while reading response header from upstream'])
    return [f'{ts} [{rng.choice(["error", "warn", "error", "notice"])}] {rng.randrange(100, 9999)}#0: *{rng.randrange(1, 10 ** 6)} {msg}, '
            f'client: {ip(rng)}, server: example.com, request: "{rng.choice(METHODS)} {fill(rng, rng.choice(PATHS))} HTTP/1.1"']


def go_line(rng, clock):
    clock.tick(1)
    ts = clock.iso('ms', z=False)
    kind = rng.random()
    if kind < 0.5:
        return [f'time="{ts}Z" level={rng.choice(["info"] * 6 + ["debug", "warning"])} msg="{rng.choice(["pulling image", "container started", "health check ok", "reconciled", "lease renewed"])}" '
                f'component={rng.choice(SERVICES)} id={hexs(rng, 12)}']
    if kind < 0.8:
        return [f'{rng.choice("IWI")}{clock.syslog().replace(" ", "")[3:]}.{rng.randrange(10 ** 6):06d} {rng.randrange(1, 99):7d} '
                f'{rng.choice(["controller.go", "reflector.go", "leaderelection.go", "server.go"])}:{rng.randrange(40, 900)}] '
                f'{rng.choice(["Successfully acquired lease", "Watch close", "Starting workers", "Caches are synced"])} '
                f'"{rng.choice(SERVICES)}/{rng.choice(WORDS)}-{hexs(rng, 5)}"']
    return [f'{ts}Z\t{rng.choice(["INFO", "INFO", "DEBUG", "WARN"])}\t{rng.choice(SERVICES)}/{rng.choice(["handler.go", "store.go", "main.go"])}:{rng.randrange(10, 400)}\t'
            f'{rng.choice(["served request", "flushed batch", "dialing upstream", "closing idle connection"])}\t'
            f'{{"latency": "{rng.uniform(0.1, 400):.3f}ms", "bytes": {rng.randrange(0, 90000)}}}']


def kv_line(rng, clock):
    clock.tick(1)
    return [f'ts={clock.iso("us")} level={rng.choice(["info"] * 8 + ["debug", "warn", "error"])} '
            f'caller={rng.choice(["main.go", "api.go", "db.go", "queue.go"])}:{rng.randrange(10, 500)} '
            f'msg="{rng.choice(["request done", "query ok", "enqueued", "dequeued", "sync complete", "slow query"])}" '
            f'service={rng.choice(SERVICES)} duration={rng.uniform(0.1, 2000):.1f}ms user={rng.choice(USERS)}']


KINDS = ['access', 'syslog', 'pino', 'json', 'java', 'python', 'nginx-error', 'go', 'kv', 'mixed']


def generate_file(rng, kind, lines, trace_rate=0.05):
    """One log file of `kind` with about `lines` lines. trace_rate: chance that an ERROR carries a stack trace."""
    clock = Clock(rng)
    name = rng.choice(SERVICES)
    out = []
    while len(out) < lines:
        k = kind if kind != 'mixed' else rng.choice(KINDS[:-1])
        if k == 'access':
            out += access_line(rng, clock)
        elif k == 'syslog':
            out += syslog_line(rng, clock)
        elif k == 'pino':
            out += pino_line(rng, clock, name)
        elif k == 'json':
            out += json_service_line(rng, clock, name)
        elif k == 'java':
            out += java_line(rng, clock, trace_rate)
        elif k == 'python':
            out += python_line(rng, clock, trace_rate)
        elif k == 'nginx-error':
            out += nginx_error_line(rng, clock)
        elif k == 'go':
            out += go_line(rng, clock)
        else:
            out += kv_line(rng, clock)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--lines', type=int, default=50)
    parser.add_argument('--kind', choices=KINDS, default='mixed')
    args = parser.parse_args()
    print('\n'.join(generate_file(random.Random(args.seed), args.kind, args.lines)))


if __name__ == '__main__':
    main()
