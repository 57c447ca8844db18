#!/usr/bin/env python3
"""Search through `POST /v1/search` beside the same search in process, for several values of
`index.search-overfetch`, in one run (1 is the default; it was 4 until 2026-12-05).

    apt-get install -y wrk python3-numpy
    /usr/bin/python3 scripts/http-search.py [VECTORS] [OVERFETCH...]

VECTORS clustered 384-dimension vectors (10,000 by default) and 1,000 queries are made as
scripts/bench-table.py makes them. The in-process rate is `mycelium bench search` on one
thread, as in the laptop table. Then, for each OVERFETCH (4 and 1 by default), a fresh
`./mycelium run` on the embedded defaults plus that one setting imports the vectors, waits
until they are indexed, and one wrk connection POSTs the first 100 queries with k = 10 for
15 s. Results: docs/BENCHMARKS.md.
"""
import os
import shutil
import sys

import benchlib

bt = benchlib.bench_table()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    overfetches = [int(x) for x in sys.argv[2:]] or [4, 1]
    k = 10
    work = '/tmp/mycelium-http-search'
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    base, queries = bt.clustered(n, 1_000, 42)
    base_f, query_f = os.path.join(work, 'base.fvecs'), os.path.join(work, 'queries.fvecs')
    bt.write_fvecs(base_f, base)
    bt.write_fvecs(query_f, queries)
    inproc = bt.bench_search(None, base_f, query_f, n, k)
    print('in process, %d x %d, one thread: %.0f searches/s at recall %.3f'
          % (n, bt.DIM, inproc['qps'], inproc['recall']), flush=True)
    lua = os.path.join(work, 'search.lua')
    with open(lua, 'w') as f:
        f.write('local bodies = {\n')
        for q in queries[:100]:
            f.write('[==[{"vector": [%s], "k": %d}]==],\n'
                    % (', '.join('%.6f' % float(x) for x in q), k))
        f.write('}\nlocal i = 0\nwrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'request = function()\n  i = i % #bodies + 1\n'
                '  return wrk.format(nil, nil, nil, bodies[i])\nend\n')
    for overfetch in overfetches:
        node = benchlib.node_with(bt, os.path.join(work, 'node-%d' % overfetch),
                                  'mycelium.index.search-overfetch = %d' % overfetch)
        node.start()
        try:
            size = node.call('GET', '/v1/status')['index']['size']
            bt.import_vectors(node, base, 'search')
            node.wait_indexed(size + len(base))
            rate, errors = bt.wrk(node.url + '/v1/search', 15, 1, 1, node.key, lua)
            print('POST /v1/search, search-overfetch %d: %.0f searches/s, %.0f%% of in process%s'
                  % (overfetch, rate, 100 * rate / inproc['qps'],
                     '; %d errors' % errors if errors else ''), flush=True)
        finally:
            node.stop()


if __name__ == '__main__':
    main()
