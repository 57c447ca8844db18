#!/usr/bin/python3
"""Runs jvector build and search variants beside FAISS HNSW on the same vectors and queries.

    scripts/search-variants.py [--work DIR] [--n 50000] [--queries 1000] [--only NAME,...]
                               [--jdks 17,25] [--rounds 3] [--no-production]

The data are bench-table.py's clustered set (seed 42) in DIR as .fvecs, with the exact top 10
of every query (FAISS flat inner product) as .ivecs. Each jvector graph variant is built once
(on JDK 25, the faster builder) and saved in DIR, so that every JDK and every search variant
searches the very same graph; GraphVariantBench then times every search variant and beam
interleaved, `rounds` times, on one thread. FAISS (IndexHNSWFlat, M 16, efConstruction 100, one
thread, one query per call) sweeps efSearch before each JDK's runs and once more at the end, so
that its figures come from the same minutes as jvector's. The production index (SearchBench,
through JVectorIndex and its background inserter) runs once per JDK with an overquery sweep.

Prints, per JDK, build and search variant, the smallest beam reaching recall@10 0.95 and the
smallest reaching FAISS's own recall at its 0.99 operating point, each beside FAISS's rate at
that recall from the sweep just before. Raw figures go to DIR/results.jsonl.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

bt = benchlib.bench_table()
ROOT = bt.ROOT
JAVA = {'17': 'java', '25': os.path.join(bt.JDK25, 'bin', 'java')}
K = 10
BEAMS = '10,12,15,18,20,25,30,35,40,50,60,70,80,100,120,150,200'
EFS = (10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256)
PQ = 'pq:96,pq:96:center,pq:192'
# name: (build options, search variants). Every build keeps the production index's other
# settings (M 16, beam 100, overflow 1.2, alpha 1.2, hierarchy on, no refinement).
BUILDS = {
    'base': ('', 'fresh,exact,' + PQ),
    'refine': ('refine=true', 'exact'),
    'flat': ('hierarchy=false', 'exact'),
    'alpha1.0': ('alpha=1.0', 'exact'),
    'overflow1.5': ('overflow=1.5', 'exact'),
    'm32': ('m=32', 'exact,' + PQ),
}


def log(msg):
    print(time.strftime('%H:%M:%S'), msg, file=sys.stderr, flush=True)


def write_ivecs(path, ids):
    import numpy as np
    n, k = ids.shape
    out = np.empty((n, k + 1), dtype=np.int32)
    out[:, 0] = k
    out[:, 1:] = ids
    out.tofile(path)


def data(work, n, queries):
    import numpy as np
    import faiss
    paths = [os.path.join(work, f) for f in ('base.fvecs', 'query.fvecs', 'truth.ivecs')]
    if all(os.path.exists(p) for p in paths):
        def read(p):
            raw = np.fromfile(p, dtype=np.float32)
            return raw.reshape(-1, bt.DIM + 1)[:, 1:].copy()
        return read(paths[0]), read(paths[1]), paths
    base, query = bt.clustered(n, queries, 42)
    bt.write_fvecs(paths[0], base)
    bt.write_fvecs(paths[1], query)
    exact = faiss.IndexFlatIP(bt.DIM)
    exact.add(base)
    _, truth = exact.search(query, K)
    write_ivecs(paths[2], truth.astype(np.int32))
    return base, query, paths


def faiss_index(work, base):
    import faiss
    path = os.path.join(work, 'faiss-hnsw16-100.index')
    if os.path.exists(path):
        return faiss.read_index(path)
    faiss.omp_set_num_threads(1)
    index = faiss.IndexHNSWFlat(bt.DIM, 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 100
    t = time.monotonic()
    index.add(base)
    log('FAISS built in %.1f s' % (time.monotonic() - t))
    faiss.write_index(index, path)
    return index


def faiss_sweep(index, queries, truth, efs=EFS):
    """Recall and rate at every efSearch, one thread, one query per call (bench-table.py's way)."""
    import faiss
    faiss.omp_set_num_threads(1)
    out = []
    for ef in efs:
        index.hnsw.efSearch = ef
        index.search(queries[:100], K)  # warm
        found = 0
        t = time.monotonic()
        for i in range(len(queries)):
            _, ids = index.search(queries[i:i + 1], K)
            found += len(set(ids[0]) & set(truth[i]))
        qps = len(queries) / (time.monotonic() - t)
        out.append({'ef': ef, 'recall': found / (K * len(queries)), 'qps': qps})
    return out


def java(jdk, main, args):
    cp = open(os.path.join(ROOT, 'app', 'target', 'classpath.txt')).read().strip()
    cmd = [JAVA[jdk], '@' + os.path.join(ROOT, 'config', 'jvm.options'), '-Xmx4g']
    if jdk != '17':
        cmd += ['--add-modules', 'jdk.incubator.vector']
    cmd += ['-cp', cp, main] + args
    log(' '.join(cmd[:1] + cmd[-len(args) - 1:]))
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        bt.fail('%s failed: %s' % (main, out.stderr[-3000:]), 1)
    return out.stdout


def variant_run(jdk, work, paths, name, rounds, search=None, beams=BEAMS):
    build, searches = BUILDS[name]
    args = ['base=' + paths[0], 'query=' + paths[1], 'truth=' + paths[2],
            'graph=' + os.path.join(work, 'graph-%s.bin' % name),
            'search=' + (search or searches), 'beams=' + beams, 'rounds=%d' % rounds]
    args += build.split()
    rows = []
    for line in java(jdk, 'dev.mycelium.bench.search.GraphVariantBench', args).splitlines():
        if line.startswith('{'):
            r = json.loads(line)
            r.update(build_name=name, jdk=jdk)
            rows.append(r)
    return rows


def production_run(jdk, work, paths, n, queries, m=None):
    sweep = '1.5,2,2.5,3,3.5,4,6,7,8,10'
    args = ['base=' + paths[0], 'query=' + paths[1], 'n=%d' % n, 'queries=%d' % queries,
            'sweep=' + sweep]
    if m:
        args.append('m=%d' % m)
    out = java(jdk, 'dev.mycelium.bench.search.SearchBench', args)
    rows = []
    build = None
    for line in out.splitlines():
        if line.startswith('build '):
            build = float(line.split()[1])  # "build   1234 vectors/s (... per CPU-second)"
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('overquery'):
            # "overquery  5.0: recall@10 0.9950, 2530 q/s (... per CPU-second), ..."
            oq = float(line.split(':')[0].split()[1])
            recall = float(line.split('recall@10 ')[1].split(',')[0])
            qps = float(line.split(', ')[1].split(' q/s')[0])
            rows.append({'jdk': jdk, 'build_name': 'production' + ('-m%d' % m if m else ''),
                         'search': 'JVectorIndex',
                         'search_beam': int(round(oq * K)), 'recall': recall, 'qps': qps,
                         'build_per_s': build})
    return rows


def pick(rows, aim):
    ok = sorted((r for r in rows if r['recall'] >= aim - 1e-9), key=lambda r: r['search_beam'])
    return ok[0] if ok else None


def faiss_pick(sweep, aim):
    for r in sorted(sweep, key=lambda r: r['ef']):
        if r['recall'] >= aim - 1e-9:
            return r
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--work', default='/tmp/search-variants')
    p.add_argument('--n', type=int, default=50_000)
    p.add_argument('--queries', type=int, default=1000)
    p.add_argument('--only', default=','.join(BUILDS))
    p.add_argument('--jdks', default='17,25')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--no-production', action='store_true')
    p.add_argument('--search', help='search variants to run instead of each build\'s own')
    p.add_argument('--separate', action='store_true',
                   help='one JVM per build and search variant, so that no variant shares a JIT'
                   ' profile with another (jvector\'s search loop, compiled for one score'
                   ' function, may slow down once it has seen several)')
    p.add_argument('--production-m', default='',
                   help='graph degrees for the production index runs besides its default')
    p.add_argument('--beams', default=BEAMS)
    p.add_argument('--efs', default=','.join(map(str, EFS)))
    p.add_argument('--table', action='store_true', help='only summarise DIR/results.jsonl')
    a = p.parse_args()
    if a.table:
        table(os.path.join(a.work, 'results.jsonl'))
        return
    os.makedirs(a.work, exist_ok=True)
    base, queries, paths = data(a.work, a.n, a.queries)
    import numpy as np
    truth = np.fromfile(paths[2], dtype=np.int32).reshape(-1, K + 1)[:, 1:]
    index = faiss_index(a.work, base)
    names = a.only.split(',')
    for name in names:
        if not os.path.exists(os.path.join(a.work, 'graph-%s.bin' % name)):
            log('building graph ' + name)
            variant_run('25', a.work, paths, name, 1, search='exact', beams='40')

    results = open(os.path.join(a.work, 'results.jsonl'), 'a')
    efs = [int(e) for e in a.efs.split(',')]
    # A JDK may be listed more than once (17,25,17,25): each pass runs FAISS and then every
    # jvector variant again, so that repeated figures alternate rather than cluster in time.
    for jdk in a.jdks.split(','):
        sweep = faiss_sweep(index, queries, truth, efs)
        results.write(json.dumps({'faiss': sweep, 'before_jdk': jdk}) + '\n')
        for name in names:
            searches = (a.search or BUILDS[name][1]).split(',')
            for search in (searches if a.separate else [','.join(searches)]):
                for r in variant_run(jdk, a.work, paths, name, a.rounds, search, a.beams):
                    results.write(json.dumps(r) + '\n')
                results.flush()
        if not a.no_production:
            for m in [None] + [int(x) for x in a.production_m.split(',') if x]:
                for r in production_run(jdk, a.work, paths, a.n, a.queries, m):
                    results.write(json.dumps(r) + '\n')
                results.flush()
        results.flush()
    final = faiss_sweep(index, queries, truth, efs)
    results.write(json.dumps({'faiss': final, 'after': True}) + '\n')
    results.close()
    table(os.path.join(a.work, 'results.jsonl'))


def table(path):
    """The summary of a results file: medians over every pass of the same JDK, variant and beam
    (FAISS: over every sweep before that JDK's passes), with each pass's own rate after it."""
    rows = {}
    before = {}
    for line in open(path):
        r = json.loads(line)
        if 'faiss' in r:
            if not r.get('after'):
                for f in r['faiss']:
                    before.setdefault(r['before_jdk'], {}).setdefault(f['ef'], []).append(f)
            continue
        rows.setdefault((r['jdk'], r['build_name'], r['search'], r['search_beam']), []).append(r)

    def merged(group):
        return {'search_beam': group[0].get('search_beam'), 'ef': group[0].get('ef'),
                'recall': statistics.median(g['recall'] for g in group),
                'qps': statistics.median(g['qps'] for g in group),
                'each': [g['qps'] for g in group]}

    for jdk in sorted(before):
        f = [merged(g) for _, g in sorted(before[jdk].items())]
        f95 = faiss_pick(f, 0.95)
        f99 = faiss_pick(f, 0.99)
        print('\nJDK %s. FAISS: ef %d recall %.4f %.0f q/s %s; ef %d recall %.4f %.0f q/s %s'
              % (jdk, f95['ef'], f95['recall'], f95['qps'], runs(f95), f99['ef'],
                 f99['recall'], f99['qps'], runs(f99)))
        print('%-12s %-13s | %4s %6s %5s %4s %-17s | %4s %6s %5s %4s %s'
              % ('build', 'search', 'beam', 'recall', 'q/s', 'xF', 'passes', 'beam', 'recall',
                 'q/s', 'xF', 'passes'))
        groups = {}
        for (j, b, s, _), g in rows.items():
            if j == jdk:
                groups.setdefault((b, s), []).append(merged(g))
        for (b, s), g in groups.items():
            cells = []
            for aim, fz in ((0.95, f95), (f99['recall'], f99)):
                r = pick(g, aim)
                if r is None:
                    cells.append('%4s %6s %5s %4s %-17s' % ('-', '-', '-', '-', ''))
                else:
                    cells.append('%4d %6.4f %5.0f %4.2f %-17s' % (
                        r['search_beam'], r['recall'], r['qps'], r['qps'] / fz['qps'], runs(r)))
            print('%-12s %-13s | %s | %s' % (b, s, cells[0], cells[1]))


def runs(r):
    return '[' + ' '.join('%.0f' % q for q in r['each']) + ']'


if __name__ == '__main__':
    main()
