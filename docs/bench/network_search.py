import json, random, sys, time, urllib.request
data = sys.argv[1]; scope = sys.argv[2]; hops = int(sys.argv[3]); n = int(sys.argv[4])
url = json.load(open(data + '/api.json'))['url']; key = open(data + '/api.key').read().strip()
words = 'garden water bread oven river stone cloud market train violin lemon harbor winter paper candle'.split()
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
