#!/usr/bin/env python3
"""What an idle node holding fragments costs in CPU, two settings side by side in one run.

For each setting a fresh `./mycelium run` is started, 3,000 WordNet noun glosses are POSTed in
batches of 500 and left to be indexed, then the node is left alone and the CPU time its JVM
uses (user + system, from /proc/<pid>/stat) is read over the idle window (300 s by default).
The first setting is the default; the second sets `storage.scrub-interval = 0s`, which scrubs
back to back as every node did before passes were paced.

    apt-get install -y wordnet-base
    /usr/bin/python3 scripts/idle-cpu.py [IDLE_SECONDS]

The node, the glosses and the waiting are those of scripts/bench-table.py, loaded from beside
this file. Results: docs/BENCHMARKS.md, "CPU of an idle node".
"""
import os
import shutil
import sys
import time

import benchlib

bt = benchlib.bench_table()

SETTINGS = [
    ('default (scrub pass once an hour)', None),
    ('scrub-interval = 0s (as before)', 'mycelium.storage.scrub-interval = 0s'),
]


def main():
    idle = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    benchlib.need_wordnet()
    work = '/tmp/mycelium-idle-cpu'
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    texts = bt.wordnet_glosses(3000)
    for i, (name, conf) in enumerate(SETTINGS):
        node = benchlib.node_with(bt, os.path.join(work, 'node%d' % i), conf)
        node.start()
        try:
            benchlib.post_texts(node, texts)
            node.wait_indexed(len(texts))
            # Let the first scrub pass over what was just written run its course: it starts a
            # minute after the node (or one interval, if shorter), then checks 1,000 a second.
            deadline = time.monotonic() + 300
            while (node.call('GET', '/v1/status')['scrubber']['checked'] < len(texts)
                   and time.monotonic() < deadline):
                time.sleep(1)
            time.sleep(2)
            stat = '/proc/%d/stat' % node.proc.pid
            before = benchlib.cpu_seconds(stat)
            t = time.monotonic()
            time.sleep(idle)
            used = benchlib.cpu_seconds(stat) - before
            elapsed = time.monotonic() - t
            checked = node.call('GET', '/v1/status')['scrubber']['checked']
            print('%-36s %d fragments, idle %d s: %.1f CPU-s (%.2f%% of one core), %d scrub '
                  'checks since start' % (name, len(texts), elapsed, used,
                                          100.0 * used / elapsed, checked), flush=True)
        finally:
            node.stop()


if __name__ == '__main__':
    main()
