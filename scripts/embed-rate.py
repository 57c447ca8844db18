#!/usr/bin/env python3
"""The built-in embedder through a node, two settings side by side in one run.

For each setting a fresh `./mycelium run` is started, left idle (150 s by default, as the
laptop table does) and its resident memory read; then 3,000 WordNet noun glosses are POSTed
in batches of 500 and timed until the index holds them all (the table's embedding row).

    apt-get install -y wordnet-base
    /usr/bin/python3 scripts/embed-rate.py [IDLE_SECONDS]

The node, the glosses and the waiting are those of scripts/bench-table.py, loaded from beside
this file. Results: docs/BENCHMARKS.md, "Embedding".
"""
import os
import shutil
import sys
import time

import benchlib

bt = benchlib.bench_table()

SETTINGS = [
    ('minilm-q, 2 threads (default)', None),
    ('minilm, 1 thread (before)', 'mycelium.embedder { name = "minilm", threads = 1 }'),
]


def main():
    idle = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    benchlib.need_wordnet()
    work = '/tmp/mycelium-embed-rate'
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    texts = bt.wordnet_glosses(3000)
    for i, (name, conf) in enumerate(SETTINGS):
        node = benchlib.node_with(bt, os.path.join(work, 'node%d' % i), conf)
        started = node.start()
        time.sleep(idle)
        rss_idle = node.rss_bytes()
        size = node.call('GET', '/v1/status')['index']['size']
        t = time.monotonic()
        benchlib.post_texts(node, texts)
        node.wait_indexed(size + len(texts))
        rate = len(texts) / (time.monotonic() - t)
        print('%-32s start %.2f s, resident after %d s idle %d MB, %.0f texts/s, resident after '
              '%d MB' % (name, started, idle, rss_idle // 10**6, rate, node.rss_bytes() // 10**6),
              flush=True)
        node.stop()


if __name__ == '__main__':
    main()
