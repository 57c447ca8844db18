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
TICKS = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    """User plus system CPU seconds of the process so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main():
    idle = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    if not os.path.exists('/usr/share/wordnet/data.noun'):
        bt.fail('needs WordNet: apt-get install -y wordnet-base')
    work = '/tmp/mycelium-idle-cpu'
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    texts = bt.wordnet_glosses(3000)
    for i, (name, conf) in enumerate(SETTINGS):
        data = os.path.join(work, 'node%d' % i)
        args = []
        if conf:
            path = data + '.conf'
            with open(path, 'w') as f:
                f.write(conf + '\n')
            args = ['--config', path]
        node = bt.Node(data, args=args)
        node.start()
        try:
            for k in range(0, len(texts), 500):
                node.call('POST', '/v1/fragments/batch',
                          {'fragments': [{'text': x} for x in texts[k:k + 500]]})
            node.wait_indexed(len(texts))
            # Let the first scrub pass over what was just written run its course.
            time.sleep(30)
            before = cpu_seconds(node.proc.pid)
            t = time.monotonic()
            time.sleep(idle)
            used = cpu_seconds(node.proc.pid) - before
            elapsed = time.monotonic() - t
            checked = node.call('GET', '/v1/status')['scrubber']['checked']
            print('%-36s %d fragments, idle %d s: %.1f CPU-s (%.2f%% of one core), %d scrub '
                  'checks since start' % (name, len(texts), elapsed, used,
                                          100.0 * used / elapsed, checked), flush=True)
        finally:
            node.stop()


if __name__ == '__main__':
    main()
