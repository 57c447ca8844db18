"""Network search latency from one node of a local cluster (docs/BENCHMARKS.md).

  python3 network_search.py gen shared.jsonl 2000        # shared fragments to import
  python3 network_search.py DATA_DIR local|network HOPS QUERIES
"""
import json, random, sys, time, urllib.request
words = 'garden water bread oven river stone cloud market train violin lemon harbor winter paper candle'.split()
if sys.argv[1] == 'gen':
    random.seed(1)
    with open(sys.argv[2], 'w') as f:
        for i in range(int(sys.argv[3])):
            f.write(json.dumps({'text': ' '.join(random.choice(words) for _ in range(8)) + ' #%d' % i,
                                'visibility': 'shared', 'metadata': {'topic': 'bench'}}) + '\n')
    sys.exit(0)
data = sys.argv[1]; scope = sys.argv[2]; hops = int(sys.argv[3]); n = int(sys.argv[4])
url = json.load(open(data + '/api.json'))['url']; key = open(data + '/api.key').read().strip()
random.seed(7)
lat = []; found = 0; partial = 0
for i in range(n):
    body = {'text': ' '.join(random.choice(words) for _ in range(8)), 'k': 10}
    if scope == 'network':
        body['scope'] = 'network'; body['hops'] = hops
    req = urllib.request.Request(url + '/v1/search', json.dumps(body).encode(),
        {'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json'})
    t = time.perf_counter(); r = json.load(urllib.request.urlopen(req)); lat.append((time.perf_counter() - t) * 1000)
    found += len(r['hits']); partial += 1 if r.get('partial') else 0
lat.sort()
print('%s hops=%d queries=%d hits/query=%.1f partial=%d p50=%.1fms p99=%.1fms' % (scope, hops, n, found / n, partial, lat[n // 2], lat[int(n * 0.99) - 1]))
