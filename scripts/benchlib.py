"""Loads scripts/bench-table.py for the other measurement scripts, and the few steps they share.

Its file name has a hyphen, so it cannot be imported by name; it is loaded by path, from this
checkout or from another one (scripts that compare two builds use each build's own, so that
its Node starts that build's ./mycelium).
"""
import importlib.util
import os
import sys

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bench_table(checkout=None):
    """The bench-table module of `checkout` (default: the one this file is in)."""
    root = os.path.abspath(checkout or _CHECKOUT)
    path = os.path.join(root, 'scripts', 'bench-table.py')
    spec = importlib.util.spec_from_file_location('bench_table_%d' % abs(hash(root)), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WORDNET = '/usr/share/wordnet/data.noun'
_TICKS = os.sysconf('SC_CLK_TCK')


def need_wordnet():
    """Exits with what to install when WordNet's noun glosses are not there."""
    if not os.path.exists(WORDNET):
        sys.exit('needs WordNet: apt-get install -y wordnet-base')


def node_with(bt, data, conf=None):
    """bench-table's Node on `data`; `conf` (config lines), if given, is written beside the
    data directory and passed with --config."""
    if not conf:
        return bt.Node(data)
    path = data + '.conf'
    with open(path, 'w') as f:
        f.write(conf + '\n')
    return bt.Node(data, args=['--config', path])


def post_texts(node, texts, batch=500):
    """POSTs texts without vectors in batches of `batch` (the laptop table's embedding row)."""
    for k in range(0, len(texts), batch):
        node.call('POST', '/v1/fragments/batch',
                  {'fragments': [{'text': x} for x in texts[k:k + batch]]})


def cpu_seconds(stat_path):
    """User plus system CPU seconds from a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat
    file."""
    with open(stat_path) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS
