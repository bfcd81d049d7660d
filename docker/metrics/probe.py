#!/usr/bin/python3
"""
The metrics container's one HTTP port: GET /probe?target=MEMBER scrapes one member of the cluster.

postgres_exporter 0.11.1 (Debian bookworm) has no multi-target /probe: one process scrapes one
server. So the first probe of a target starts an exporter for it on a local port and every probe
relays that exporter's /metrics: Prometheus scrapes the cluster through one port, as it scrapes a
multi-target exporter, and a member added later needs nothing here. pg-N gets
prometheus-postgres-exporter, pgbouncer-rw and pgbouncer-ro the PgBouncer exporter
(pgbouncer_exporter.py) of the poolers of this container's own front door (by their host alias,
poolerAliases, on a cluster across hosts). An exporter that fails a scrape is stopped and started afresh by the
next probe (Debian's PgBouncer exporter never reconnects); one not probed for IDLE_S (a removed
member) is stopped. The credentials stay in the files dbaas put into /etc/dbaas-metrics: the
exporters read them there, and no argument or environment value holds them.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONFIG_FILE = '/etc/dbaas-metrics/probe.json'
PGBOUNCER_EXPORTER = '/usr/local/lib/dbaas-metrics/pgbouncer_exporter.py'
FIRST_LOCAL_PORT = 20000
MAX_EXPORTERS = 64
IDLE_S = 600
START_S = 5.0
# Below Prometheus's default scrape timeout (10 s): a slow exporter fails this probe, not the next.
SCRAPE_S = 9.0

TARGETS = {
    'postgres': re.compile(r'pg-[0-9]{1,4}'),
    'pgbouncer': re.compile(r'pgbouncer-(rw|ro)'),
}


def kind_of(target):
    for kind, pattern in TARGETS.items():
        if pattern.fullmatch(target):
            return kind
    return None


def command_for(cfg, kind, target, port):
    """The exporter's argv and environment: addresses and file names only."""
    host = cfg['hostPrefix'] + target
    env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8'}
    if kind == 'postgres':
        # A member that does not answer gives pg_up 0 within the scrape, not a timed-out probe.
        options = 'connect_timeout=5&sslmode=' + cfg['sslmode'] + ('&sslrootcert=' + cfg['sslrootcert'] if cfg.get('sslrootcert') else '')
        env.update({
            'DATA_SOURCE_URI': '%s:%d/%s?%s' % (host, cfg['postgresPort'], cfg['database'], options),
            'DATA_SOURCE_USER': cfg['user'],
            'DATA_SOURCE_PASS_FILE': cfg['passwordFile'],
        })
        return ['prometheus-postgres-exporter', '--web.listen-address=127.0.0.1:%d' % port, '--log.level=warn'], env
    env.update({'PGPASSFILE': cfg['pgpassFile'], 'PGSSLMODE': cfg['sslmode'], 'PGCONNECT_TIMEOUT': '5'})
    alias = cfg.get('poolerAliases', {}).get(target)
    if alias:
        # On an overlay across hosts every front door's pooler has the container's name: this
        # front door's answers to its alias alone. libpq connects to that address and still checks
        # the certificate against the container's name (PGHOSTADDR beside the host).
        env['PGHOSTADDR'] = address_of(alias, cfg['pgbouncerPort'])
    if cfg.get('sslrootcert'):
        env['PGSSLROOTCERT'] = cfg['sslrootcert']
    return ['python3', PGBOUNCER_EXPORTER, '--host', '127.0.0.1', '--port', str(port),
            '--pgbouncer-host', host, '--pgbouncer-port', str(cfg['pgbouncerPort']), '--pgbouncer-user', cfg['user'],
            '--licence-location', '/usr/share/doc/prometheus-pgbouncer-exporter/copyright'], env


def address_of(name, port):
    """The name's IPv4 address now; a pooler that does not run has none (the probe fails: up 0)."""
    return socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]


class Exporters:
    """One exporter process per target, started on first use."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.lock = threading.Lock()
        self.running = {}  # target -> {'proc', 'port', 'used'}

    def ensure(self, kind, target):
        with self.lock:
            e = self.running.get(target)
            if e and e['proc'].poll() is None:
                e['used'] = time.monotonic()
                return e
            if e is None and len(self.running) >= MAX_EXPORTERS:
                raise RuntimeError('too many targets')
            port = e['port'] if e else self.free_port()
            argv, env = command_for(self.cfg, kind, target, port)
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
            e = {'proc': proc, 'port': port, 'used': time.monotonic()}
            self.running[target] = e
        # Also when another probe started it a moment ago.
        wait_listening(e, START_S)
        return e

    def free_port(self):
        taken = {e['port'] for e in self.running.values()}
        return next(p for p in range(FIRST_LOCAL_PORT, FIRST_LOCAL_PORT + MAX_EXPORTERS + 1) if p not in taken)

    def stop(self, target):
        with self.lock:
            e = self.running.pop(target, None)
        if e:
            terminate(e['proc'])

    def stop_idle(self):
        now = time.monotonic()
        with self.lock:
            idle = [t for t, e in self.running.items() if now - e['used'] > IDLE_S]
        for t in idle:
            self.stop(t)

    def stop_all(self):
        for t in list(self.running):
            self.stop(t)


def terminate(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_listening(e, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if e['proc'].poll() is not None:
            raise RuntimeError('the exporter exited (code %d)' % e['proc'].returncode)
        try:
            socket.create_connection(('127.0.0.1', e['port']), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('the exporter did not listen within %gs' % seconds)


def handler(exporters):
    class Probe(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == '/health':
                return self.reply(200, b'ok\n')
            if url.path != '/probe':
                return self.reply(404, b'GET /probe?target=MEMBER\n')
            targets = parse_qs(url.query).get('target', [])
            kind = kind_of(targets[0]) if len(targets) == 1 else None
            if kind is None:
                return self.reply(400, b'target must be one pg-N, pgbouncer-rw or pgbouncer-ro\n')
            target = targets[0]
            try:
                e = exporters.ensure(kind, target)
                with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % e['port'], timeout=SCRAPE_S) as r:
                    body, ctype = r.read(), r.headers.get('Content-Type', 'text/plain; version=0.0.4')
            except (OSError, RuntimeError, http.client.HTTPException) as err:
                # The next probe starts it afresh (a PgBouncer exporter whose connection broke).
                exporters.stop(target)
                return self.reply(503, ('exporter for %s failed: %s\n' % (target, err)).encode())
            self.reply(200, body, ctype)

        def reply(self, code, body, ctype='text/plain; charset=utf-8'):
            self.send_response(code)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass  # one line per scrape would drown the container's log

    return Probe


def main():
    with open(CONFIG_FILE) as f:
        cfg = json.load(f)
    exporters = Exporters(cfg)

    def stop(*_):
        exporters.stop_all()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def reap():
        while True:
            time.sleep(60)
            exporters.stop_idle()

    threading.Thread(target=reap, daemon=True).start()
    server = ThreadingHTTPServer(('0.0.0.0', cfg['listen']), handler(exporters))
    server.daemon_threads = True
    print('dbaas metrics: /probe on port %d' % cfg['listen'], flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
