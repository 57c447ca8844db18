#!/usr/bin/python3
"""Re-measures the laptop-footprint table of docs/BENCHMARKS.md in one run and prints it.

    scripts/bench-table.py [--quick] [--work DIR] [--idle-seconds 150] [--keep]

Every figure comes from a separate process: the node is `./mycelium run` on embedded defaults
(the built-in embedder), HTTP load comes from wrk, the HTTP reference is nginx serving a file
of the same size as the node's answer, and every search figure stands beside FAISS (HNSW, M 16,
efConstruction 100, one thread) on the same vectors and queries, in the same run. Needs Debian's
wrk, nginx-light (or nginx), python3-faiss, python3-numpy and wordnet-base; it names what is
missing and exits 2. Runs under Debian's /usr/bin/python3, which is where python3-faiss lives.

--quick shrinks the data (10,000 vectors, 20,000 fragments at restart, 30 s idle) to check the
script itself; its figures are not the table's.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MYCELIUM = os.path.join(ROOT, 'mycelium')
JDK25 = '/usr/lib/jvm/temurin-25-jdk-amd64'
DIM = 384


def fail(msg, code=2):
    print('bench-table: ' + msg, file=sys.stderr)
    sys.exit(code)


def need_tools():
    missing = []
    for tool, pkg in (('wrk', 'wrk'), ('nginx', 'nginx-light')):
        if not shutil.which(tool) and not os.path.exists('/usr/sbin/' + tool):
            missing.append(pkg)
    try:
        import faiss  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        missing += ['python3-faiss', 'python3-numpy']
    if not os.path.exists('/usr/share/wordnet/data.noun'):
        missing.append('wordnet-base')
    if missing:
        fail('missing: ' + ' '.join(missing) + '; install with: apt-get install -y '
             + ' '.join(missing))


def log(msg):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), msg), file=sys.stderr, flush=True)


# ---------------------------------------------------------------- a node as a user starts it

class Node:
    """`./mycelium run` in its own process; the launcher execs the JVM, so its pid is the JVM's."""

    def __init__(self, data, env=None, args=()):
        self.data = data
        self.env = env
        self.args = list(args)
        self.proc = None
        self.url = None
        self.key = None

    def start(self):
        """Starts the node and returns seconds from spawning the launcher to GET /ready 200."""
        api_json = os.path.join(self.data, 'api.json')
        if os.path.exists(api_json):
            os.remove(api_json)
        logf = open(os.path.join(os.path.dirname(self.data), os.path.basename(self.data) + '.log'),
                    'ab')
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [MYCELIUM, 'run', '--data', self.data, '--api', '127.0.0.1:0',
             '--listen', '127.0.0.1:0'] + self.args, stdout=logf, stderr=subprocess.STDOUT,
            env=self.env, cwd=ROOT)
        while True:
            if self.proc.poll() is not None:
                fail('the node exited with %d; see %s.log' % (self.proc.returncode, self.data), 1)
            if self.url is None and os.path.exists(api_json):
                try:
                    self.url = json.load(open(api_json))['url']
                    self.key = open(os.path.join(self.data, 'api.key')).read().strip()
                except (ValueError, KeyError, OSError):
                    self.url = None
            if self.url is not None:
                try:
                    with urllib.request.urlopen(self.url + '/ready', timeout=2) as r:
                        if r.status == 200:
                            return time.monotonic() - t0
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.02)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=120)
        self.url = None

    def call(self, method, path, body=None, timeout=600):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            'Authorization': 'Bearer ' + self.key, 'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.load(r)

    def rss_bytes(self):
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
        return 0

    def wait_indexed(self, size, timeout=3600):
        """Until the index holds `size` vectors with none pending: a text put without a vector
        reaches the index only once the embedder is done with it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            index = self.call('GET', '/v1/status')['index']
            if index['size'] >= size and index['pending'] == 0:
                return
            time.sleep(0.05)
        fail('the index did not catch up within %d s' % timeout, 1)


def du_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            st = os.lstat(os.path.join(dirpath, f))
            total += st.st_blocks * 512
    return total


# ---------------------------------------------------------------- data

def wordnet_glosses(n):
    """The first n noun glosses of WordNet 3.0 (the text after '|' in data.noun), deduplicated."""
    out, seen = [], set()
    with open('/usr/share/wordnet/data.noun', encoding='latin-1') as f:
        for line in f:
            if line.startswith(' ') or '|' not in line:
                continue
            g = line.split('|', 1)[1].strip().split(';')[0].strip()
            if g and g not in seen:
                seen.add(g)
                out.append(g)
                if len(out) == n:
                    break
    return out


def clustered(n, queries, seed):
    """About sqrt(n) Gaussian centres, noise 0.75 per dimension, unit length (as `bench search`
    makes its own set), so that cosine, inner product and L2 rank alike."""
    import numpy as np
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, int(n ** 0.5)), DIM)).astype(np.float32)

    def draw(m):
        v = centres[rng.integers(0, len(centres), m)] + rng.normal(scale=0.75, size=(m, DIM))
        v = v.astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    return draw(n), draw(queries)


def write_fvecs(path, v):
    import numpy as np
    n, d = v.shape
    out = np.empty((n, d + 1), dtype=np.float32)
    out[:, 0] = np.array([d], dtype=np.int32).view(np.float32)[0]
    out[:, 1:] = v
    out.tofile(path)


# ---------------------------------------------------------------- measurements

def faiss_hnsw(base, queries, k, recall_aim):
    """FAISS HNSW on one thread: the smallest efSearch that reaches the recall aim, its rate."""
    import faiss
    faiss.omp_set_num_threads(1)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(base)
    _, truth = exact.search(queries, k)
    index = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 100
    t = time.monotonic()
    index.add(base)
    build = len(base) / (time.monotonic() - t)
    best = None
    for ef in (10, 16, 24, 32, 48, 64, 96, 128, 192, 256):
        index.hnsw.efSearch = ef
        found = 0
        t = time.monotonic()
        for i in range(len(queries)):  # one query per call: one client, one thread
            _, ids = index.search(queries[i:i + 1], k)
            found += len(set(ids[0]) & set(truth[i]))
        qps = len(queries) / (time.monotonic() - t)
        recall = found / (k * len(queries))
        best = {'ef_search': ef, 'recall': recall, 'qps': qps, 'build_per_s': build}
        if recall >= recall_aim:
            break
    return best


def bench_search(java_home, base_path, query_path, n, k):
    env = dict(os.environ)
    if java_home:
        env['JAVA_HOME'] = java_home
    out = subprocess.run([MYCELIUM, 'bench', 'search', '--base', base_path, '--queries',
                          query_path, '--n', str(n), '-k', str(k), '--format', 'json'],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        fail('bench search failed: ' + out.stderr[-2000:], 1)
    r = json.loads(out.stdout[out.stdout.index('{'):])
    return {'qps': r['queries_per_second'], 'recall': r['recall']}


def wrk(url, seconds, threads, conns, key, script=None):
    cmd = ['wrk', '-t%d' % threads, '-c%d' % conns, '-d%ds' % seconds, '--latency',
           '-H', 'Authorization: Bearer ' + key]
    if script:
        cmd += ['-s', script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True).stdout
    rate = None
    errors = 0
    for line in out.splitlines():
        if line.startswith('Requests/sec:'):
            rate = float(line.split()[1])
        if 'Non-2xx or 3xx responses' in line:
            errors += int(line.split()[-1])
        if line.strip().startswith('Socket errors'):
            errors += sum(int(p.split()[-1]) for p in line.split(':', 1)[1].split(','))
    if rate is None:
        fail('wrk printed no rate for %s:\n%s' % (url, out), 1)
    return rate, errors


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def nginx_serving(work, body):
    """nginx on loopback serving one file of the given bytes, 2 workers like the node's 2 cores."""
    root = os.path.join(work, 'nginx')
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, 'fragment.json'), 'wb') as f:
        f.write(body)
    # Started as root, nginx's workers run as an unprivileged user: they must be able to pass
    # through the work directory (mkdtemp makes it 0700) and read the file, nothing more.
    os.chmod(work, os.stat(work).st_mode | 0o711)
    os.chmod(root, 0o755)
    os.chmod(os.path.join(root, 'fragment.json'), 0o644)
    port = free_port()
    conf = os.path.join(root, 'nginx.conf')
    with open(conf, 'w') as f:
        f.write('''worker_processes 2; daemon off; pid %(r)s/nginx.pid; error_log %(r)s/error.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path %(r)s/tmp; proxy_temp_path %(r)s/tmp; fastcgi_temp_path %(r)s/tmp;
  uwsgi_temp_path %(r)s/tmp; scgi_temp_path %(r)s/tmp;
  server { listen 127.0.0.1:%(p)d; root %(r)s; default_type application/json; } }
''' % {'r': root, 'p': port})
    nginx = shutil.which('nginx') or '/usr/sbin/nginx'
    proc = subprocess.Popen([nginx, '-c', conf, '-p', root], stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen('http://127.0.0.1:%d/fragment.json' % port, timeout=1)
            return proc, 'http://127.0.0.1:%d/fragment.json' % port
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    proc.kill()
    fail('nginx did not start; see %s/error.log' % root, 1)


def import_vectors(node, vectors, tag, start=0):
    batch = 500
    for i in range(0, len(vectors), batch):
        items = [{'text': '%s %d' % (tag, start + i + j), 'vector': [round(float(x), 6) for x in v]}
                 for j, v in enumerate(vectors[i:i + batch])]
        r = node.call('POST', '/v1/fragments/batch', {'fragments': items})
        if r['failed']:
            fail('import refused %d items: %s' % (r['failed'], r['results'][:2]), 1)


# ---------------------------------------------------------------- the table

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--work', help='scratch directory (default: a new one under /tmp)')
    ap.add_argument('--idle-seconds', type=int, default=150)
    ap.add_argument('--seconds', type=int, default=15, help='length of each wrk run')
    ap.add_argument('--keep', action='store_true', help='keep the scratch directory')
    a = ap.parse_args()
    need_tools()

    n_search = 10_000 if a.quick else 50_000
    n_total = 20_000 if a.quick else 100_000
    idle = 30 if a.quick else a.idle_seconds
    glosses_n = 1_000 if a.quick else 3_000
    k, n_queries = 10, 1_000
    work = a.work or tempfile.mkdtemp(prefix='mycelium-bench-')
    os.makedirs(work, exist_ok=True)
    rows = []

    def row(what, measured, aim, met, note=''):
        rows.append((what, measured, aim, 'met' if met else '**missed**', note))
        log('%s: %s (aim %s)' % (what, measured, aim))

    log('building (if needed) and writing %d x %d vectors' % (n_search, DIM))
    subprocess.run([MYCELIUM, '--version'], cwd=ROOT, check=True, capture_output=True)
    base, queries = clustered(n_search, n_queries, 42)
    extra, _ = clustered(n_total - n_search, 1, 43)
    base_f, query_f = os.path.join(work, 'base.fvecs'), os.path.join(work, 'queries.fvecs')
    write_fvecs(base_f, base)
    write_fvecs(query_f, queries)

    # A fresh node on embedded defaults, as the Quick start starts it.
    node = Node(os.path.join(work, 'node'))
    ready = node.start()
    row('fresh node: start to /ready (launcher spawned to 200)', '%.2f s' % ready,
        '<= 3 s after the JVM is up', ready <= 3.0, 'includes JVM start and the launcher')
    for t in ('a first memory fragment', 'a second memory fragment'):
        node.call('POST', '/v1/fragments', {'text': t})
    node.wait_indexed(2)
    disk = du_bytes(node.data)
    row('disk used by a fresh node holding 2 fragments', '%.1f MiB' % (disk / 2**20), '<= 64 MB',
        disk <= 64 * 10**6)
    log('idling %d s' % idle)
    time.sleep(idle)
    rss = node.rss_bytes()
    row('resident memory of an idle fresh node (%d s after /ready)' % idle,
        '%d MB' % (rss // 10**6), '<= 300 MB', rss <= 300 * 10**6)

    # Embedding with the built-in model: batches of 500 texts, until nothing is pending.
    texts = wordnet_glosses(glosses_n)
    mean = sum(map(len, texts)) / len(texts)
    size = node.call('GET', '/v1/status')['index']['size']
    t = time.monotonic()
    for i in range(0, len(texts), 500):
        r = node.call('POST', '/v1/fragments/batch',
                      {'fragments': [{'text': x} for x in texts[i:i + 500]]})
        if r['failed']:
            fail('embedding batch refused %d items' % r['failed'], 1)
    node.wait_indexed(size + len(texts))
    rate = len(texts) / (time.monotonic() - t)
    row('texts embedded by the built-in embedder (%d WordNet glosses of %d characters)'
        % (len(texts), mean), '%.0f per second' % rate, '>= 600 per second', rate >= 600)

    # Search in process, jvector beside FAISS on the same vectors and queries.
    log('search in process: jvector (JDK 17), FAISS')
    j17 = bench_search(None, base_f, query_f, n_search, k)
    fz = faiss_hnsw(base, queries, k, max(0.95, j17['recall'] - 0.005))
    row('search in process, %d x %d, one thread, JDK 17' % (n_search, DIM),
        '%.0f q/s at recall %.3f; FAISS %.0f q/s at %.3f (efSearch %d): %.2fx'
        % (j17['qps'], j17['recall'], fz['qps'], fz['recall'], fz['ef_search'],
           j17['qps'] / fz['qps']), '>= 1.0x FAISS', j17['qps'] >= fz['qps'])
    if os.path.exists(os.path.join(JDK25, 'bin', 'java')):
        j25 = bench_search(JDK25, base_f, query_f, n_search, k)
        row('search in process, the same, JDK 25 (vector API)',
            '%.0f q/s at recall %.3f: %.2fx FAISS' % (j25['qps'], j25['recall'],
                                                       j25['qps'] / fz['qps']),
            '>= 2x FAISS', j25['qps'] >= 2 * fz['qps'])

    # The same vectors in the node, searched over HTTP by one wrk connection.
    log('importing %d vectors into the node' % n_search)
    size = node.call('GET', '/v1/status')['index']['size']
    import_vectors(node, base, 'search')
    node.wait_indexed(size + len(base))
    lua = os.path.join(work, 'search.lua')
    with open(lua, 'w') as f:
        f.write('local bodies = {\n')
        for q in queries[:100]:
            f.write('[==[%s]==],\n' % json.dumps(
                {'vector': [round(float(x), 6) for x in q], 'k': k}))
        f.write('}\nlocal i = 0\nwrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'request = function()\n  i = i % #bodies + 1\n'
                '  return wrk.format(nil, nil, nil, bodies[i])\nend\n')
    http_search, errs = wrk(node.url + '/v1/search', a.seconds, 1, 1, node.key, lua)
    row('search through POST /v1/search with a vector, one connection (wrk)',
        '%.0f per second, %.0f%% of in process (%.0f)%s'
        % (http_search, 100 * http_search / j17['qps'], j17['qps'],
           '; %d errors' % errs if errs else ''), '>= 70% of in process',
        http_search >= 0.7 * j17['qps'] and not errs)

    # GET a fragment, wrk against the node and against nginx serving the same bytes.
    fid = node.call('POST', '/v1/fragments', {'text': 'x' * 1000, 'vector': [1.0] * DIM})['id']
    req = urllib.request.Request(node.url + '/v1/fragments/' + fid,
                                 headers={'Authorization': 'Bearer ' + node.key})
    body = urllib.request.urlopen(req).read()
    nginx, nginx_url = nginx_serving(work, body)
    try:
        ng, ng_err = wrk(nginx_url, a.seconds, 2, 32, node.key)
    finally:
        nginx.terminate()
        nginx.wait()
    get, get_err = wrk(node.url + '/v1/fragments/' + fid, a.seconds, 2, 32, node.key)
    row('GET /v1/fragments/{id} (%d-byte answer), wrk 2 threads 32 connections' % len(body),
        '%.0f per second; nginx, the same bytes: %.0f (%.2fx)%s'
        % (get, ng, get / ng, '; %d errors' % (get_err + ng_err) if get_err + ng_err else ''),
        '>= 0.7x nginx', get >= 0.7 * ng and not get_err)

    # Fill to n_total and restart: start to /ready with that many fragments, memory.
    log('importing %d more fragments' % len(extra))
    size = node.call('GET', '/v1/status')['index']['size']
    import_vectors(node, extra, 'filler', n_search)
    node.wait_indexed(size + len(extra))
    held = node.call('GET', '/v1/status')['fragments']['PRESENT']
    node.stop()
    ready = node.start()
    row('start to /ready with %d fragments' % held, '%.2f s' % ready, '<= 5 s', ready <= 5.0)
    log('idling %d s' % idle)
    time.sleep(idle)
    rss = node.rss_bytes()
    row('resident memory holding %d fragments, idle' % held, '%d MB' % (rss // 10**6),
        '<= 600 MB', rss <= 600 * 10**6)
    disk = du_bytes(node.data)
    node.stop()

    log('re-replication (bench replication, 5 nodes in one JVM)')
    out = subprocess.run([MYCELIUM, 'bench', 'replication', '--fragments',
                          str(5_000 if a.quick else 20_000), '--format', 'json',
                          '--timeout', '300',
                          '--dir', os.path.join(work, 'replication')],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode == 0:
        rep = json.loads(out.stdout[out.stdout.index('{'):])
        per_s = rep['re_replicated_per_second']
        row('re-replication after a holder stops', '%.0f fragments per second' % per_s,
            '>= 10,000 per second', per_s >= 10_000)
    else:
        row('re-replication after a holder stops', 'failed: ' + out.stderr.strip()[-200:],
            '>= 10,000 per second', False)

    print('\n| what | measured | aim | | |')
    print('|---|---|---|---|---|')
    for r in rows:
        print('| %s | %s | %s | %s | %s |' % r)
    print('\n%s, %s, %d cores, load average %.1f at the end; node data %.0f MiB at the end'
          % (time.strftime('%Y-%m-%d'), subprocess.run(['java', '-version'], capture_output=True,
                                                        text=True).stderr.splitlines()[0],
             os.cpu_count(), os.getloadavg()[0], disk / 2**20))
    if not a.keep and not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
