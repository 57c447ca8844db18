// The Mycelium node dashboard: polls this node's API every few seconds and draws what it says.
// Plain JavaScript for current browsers; no libraries, no build step, nothing loaded from
// elsewhere. Every value from the API is put in the page as text (textContent), never as
// markup, so a hostile peer address or metadata string cannot inject script.
'use strict';

(function () {
  const REFRESH_MS = 3000;
  const KEY_ITEM = 'mycelium.apiKey';
  const STATES = ['PRESENT', 'BLANK', 'LOST', 'DELETED'];
  const MAX_EVENTS = 50;
  const SVG = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);
  let timer = null;
  let repairAvailable = true; // until /v1/repair answers 404: an older node has no repair API
  let previous = null; // the last snapshot, to turn changes into events
  let reachable = true;
  const events = [];
  const layout = new Map(); // node ID -> {x, y, vx, vy}: positions survive refreshes

  class Unauthorized extends Error {}

  // ---- the API key: from the URL fragment once (#key=...), then from this tab's storage ----

  function takeKeyFromUrl() {
    const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(KEY_ITEM, decodeURIComponent(m[1]));
      // The key must not stay in the address bar or the history.
      history.replaceState(null, '', location.pathname);
    }
  }

  function apiKey() {
    return sessionStorage.getItem(KEY_ITEM);
  }

  function showLogin(message) {
    $('login').hidden = false;
    $('dashboard').hidden = true;
    $('logout').hidden = true;
    $('login-error').textContent = message || '';
    $('node-id').textContent = 'not connected';
    setHealth('unknown', '?');
    if (timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  function forgetKey(message) {
    sessionStorage.removeItem(KEY_ITEM);
    showLogin(message);
  }

  function start() {
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('logout').hidden = false;
    refresh();
    timer = setInterval(refresh, REFRESH_MS);
  }

  async function api(path) {
    const r = await fetch(path, {
      headers: { Authorization: 'Bearer ' + apiKey() },
      cache: 'no-store',
    });
    if (r.status === 401) {
      throw new Unauthorized();
    }
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    return { status: r.status, body: body };
  }

  // ---- one refresh: read everything, then draw ----

  async function refresh() {
    try {
      const [status, ready, peers] = await Promise.all(
        [api('/v1/status'), api('/ready'), api('/v1/peers')]);
      let repair = null;
      if (repairAvailable) {
        const r = await api('/v1/repair');
        if (r.status === 404) {
          repairAvailable = false;
        } else if (r.status === 200) {
          repair = r.body;
        }
      }
      if (!reachable) {
        addEvent('node reachable again');
        reachable = true;
      }
      if (status.status !== 200) {
        // 503 while the store opens or the node stops: show why, keep polling.
        setHealth('notready', 'not ready');
        $('ready').textContent = reasons(ready.body) || (status.body && status.body.message) || '';
        return;
      }
      const snapshot = {
        status: status.body,
        ready: ready.status === 200,
        reasons: reasons(ready.body),
        peers: (peers.body && peers.body.peers) || [],
      };
      draw(snapshot, repair);
      diff(previous, snapshot);
      previous = snapshot;
      $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      if (e instanceof Unauthorized) {
        forgetKey('The node refused this API key.');
        return;
      }
      setHealth('down', 'unreachable');
      if (reachable) {
        addEvent('node unreachable: ' + e.message);
        reachable = false;
      }
    }
  }

  function reasons(readyBody) {
    return readyBody && readyBody.reasons ? readyBody.reasons.join('; ') : '';
  }

  function setHealth(cls, text) {
    const h = $('health');
    h.className = 'badge ' + cls;
    h.textContent = text;
  }

  function draw(s, repair) {
    const st = s.status;
    $('node-id').textContent = st.node_id;
    $('node-id').title = 'node ID';
    setHealth(s.ready ? 'up' : 'notready', s.ready ? 'ready' : 'not ready');
    $('version').textContent = st.version;
    $('uptime').textContent = duration(st.uptime_seconds);
    $('peer-address').textContent = st.peer || 'peers disabled';
    $('ready').textContent = s.ready ? 'yes' : 'no: ' + s.reasons;
    $('store').textContent = st.store.entries + ' / ' + st.store.capacity + ' entries ('
      + (100 * st.store.fill_ratio).toFixed(1) + '% full)';
    $('index').textContent = st.index.size + ' vectors, ' + st.index.pending + ' pending';
    $('scrubber').textContent = st.scrubber.checked + ' checked, ' + st.scrubber.failures
      + ' failures, ' + st.scrubber.passes + ' passes';

    let total = 0;
    STATES.forEach((k) => { total += st.fragments[k] || 0; });
    const bar = $('fragment-bar');
    bar.replaceChildren();
    STATES.forEach((k) => {
      const n = st.fragments[k] || 0;
      $('count-' + k).textContent = String(n);
      if (n > 0) {
        const seg = document.createElement('span');
        seg.className = k;
        seg.style.width = (100 * n / total) + '%';
        seg.title = k + ': ' + n;
        bar.appendChild(seg);
      }
    });

    const active = s.peers.filter((p) => p.view === 'ACTIVE');
    $('peer-counts').textContent = '(' + active.length + ' active, '
      + (s.peers.length - active.length) + ' passive)';
    $('dashboard').dataset.activePeers = String(active.length);
    drawPeerTable(s.peers);
    drawGraph(st.node_id, active);
    drawRepair(repair);
    drawEvents();
  }

  function drawPeerTable(peers) {
    const body = $('peer-table').tBodies[0];
    body.replaceChildren();
    peers.forEach((p) => {
      const tr = body.insertRow();
      tr.className = 'peer';
      tr.dataset.nodeId = p.node_id;
      cell(tr, p.node_id.substring(0, 12), 'mono').title = p.node_id;
      cell(tr, p.address, 'mono');
      cell(tr, p.state || '-');
      cell(tr, p.view);
      cell(tr, Number(p.score).toFixed(2), 'num');
      cell(tr, p.connected ? 'open' : '-');
    });
  }

  function cell(tr, text, cls) {
    const td = tr.insertCell();
    td.textContent = text;
    if (cls) {
      td.className = cls;
    }
    return td;
  }

  // ---- the peer graph: this node in the middle, its active view around it ----

  function seedPosition(id) {
    // A stable start from the ID, so that the picture does not jump between page loads.
    let h = 0;
    for (let i = 0; i < id.length; i++) {
      h = (h * 31 + id.charCodeAt(i)) | 0;
    }
    const a = (Math.abs(h) % 360) * Math.PI / 180;
    return { x: 140 * Math.cos(a), y: 100 * Math.sin(a), vx: 0, vy: 0 };
  }

  // A small force layout (springs to the centre, repulsion between peers), a few hundred steps
  // per refresh: enough to settle a view of tens of peers, cheap enough to redo every time.
  function settle(ids) {
    const pts = ids.map((id) => layout.get(id));
    for (let step = 0; step < 200; step++) {
      for (let i = 0; i < pts.length; i++) {
        const p = pts[i];
        const d = Math.hypot(p.x, p.y) || 1;
        const pull = (d - 130) * 0.02; // spring to the node, rest length 130
        p.vx -= pull * p.x / d;
        p.vy -= pull * p.y / d;
        for (let j = 0; j < pts.length; j++) {
          if (i !== j) {
            const dx = p.x - pts[j].x;
            const dy = p.y - pts[j].y;
            const d2 = Math.max(dx * dx + dy * dy, 25);
            p.vx += 1500 * dx / d2 / Math.sqrt(d2);
            p.vy += 1500 * dy / d2 / Math.sqrt(d2);
          }
        }
      }
      pts.forEach((p) => {
        p.vx *= 0.85;
        p.vy *= 0.85;
        p.x = Math.max(-270, Math.min(270, p.x + p.vx));
        p.y = Math.max(-140, Math.min(140, p.y + p.vy));
      });
    }
  }

  function drawGraph(selfId, active) {
    const ids = active.map((p) => p.node_id);
    ids.forEach((id) => {
      if (!layout.has(id)) {
        layout.set(id, seedPosition(id));
      }
    });
    Array.from(layout.keys()).forEach((id) => {
      if (!ids.includes(id)) {
        layout.delete(id);
      }
    });
    settle(ids);
    const svg = $('graph');
    svg.replaceChildren();
    active.forEach((p) => {
      const q = layout.get(p.node_id);
      svg.appendChild(el('line', { x1: 0, y1: 0, x2: q.x, y2: q.y, class: p.view }));
    });
    active.forEach((p) => {
      const q = layout.get(p.node_id);
      const c = el('circle', { cx: q.x, cy: q.y, r: 14, class: p.state || 'UNKNOWN' });
      const title = document.createElementNS(SVG, 'title');
      title.textContent = p.node_id + ' ' + p.address + ' ' + (p.state || 'not probed yet');
      c.appendChild(title);
      svg.appendChild(c);
      const t = el('text', { x: q.x, y: q.y + 28 });
      t.textContent = p.node_id.substring(0, 8) + ' ' + (p.state || '-');
      svg.appendChild(t);
    });
    svg.appendChild(el('circle', { cx: 0, cy: 0, r: 18, class: 'self' }));
    const me = el('text', { x: 0, y: 34 });
    me.textContent = selfId.substring(0, 8) + ' (this node)';
    svg.appendChild(me);
  }

  function el(name, attrs) {
    const e = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach((k) => e.setAttribute(k, String(attrs[k])));
    return e;
  }

  // ---- the repair queue, shown only when the node has a repair API ----

  function drawRepair(repair) {
    $('repair').hidden = !repairAvailable || repair === null;
    if (repair === null) {
      return;
    }
    const box = $('repair-body');
    box.replaceChildren();
    const dl = document.createElement('dl');
    let list = null;
    Object.keys(repair).forEach((k) => {
      const v = repair[k];
      if (Array.isArray(v)) {
        list = list || { name: k, items: v };
      } else if (v === null || typeof v !== 'object') {
        const dt = document.createElement('dt');
        dt.textContent = k.replace(/_/g, ' ');
        const dd = document.createElement('dd');
        dd.textContent = String(v);
        dl.append(dt, dd);
      }
    });
    box.appendChild(dl);
    if (list) {
      const items = list.items.slice(0, 20);
      const cols = [];
      items.forEach((it) => Object.keys(it || {}).forEach((k) => {
        if (!cols.includes(k) && (it[k] === null || typeof it[k] !== 'object')) {
          cols.push(k);
        }
      }));
      const table = document.createElement('table');
      const head = table.createTHead().insertRow();
      cols.forEach((c) => {
        const th = document.createElement('th');
        th.textContent = c.replace(/_/g, ' ');
        head.appendChild(th);
      });
      const body = table.createTBody();
      items.forEach((it) => {
        const tr = body.insertRow();
        cols.forEach((c) => cell(tr, it[c] === undefined || it[c] === null ? '-' : String(it[c])));
      });
      const caption = table.createCaption();
      caption.textContent = list.items.length + ' ' + list.name.replace(/_/g, ' ')
        + (list.items.length > items.length ? ' (first ' + items.length + ')' : '');
      box.appendChild(table);
    }
  }

  // ---- recent events: what changed between two refreshes ----

  function diff(before, now) {
    if (before === null) {
      addEvent('connected to node ' + now.status.node_id.substring(0, 8));
      return;
    }
    if (before.ready !== now.ready) {
      addEvent(now.ready ? 'node is ready' : 'node is not ready: ' + now.reasons);
    }
    const old = new Map(before.peers.map((p) => [p.node_id, p]));
    now.peers.forEach((p) => {
      const o = old.get(p.node_id);
      const id = p.node_id.substring(0, 8);
      if (!o) {
        addEvent('peer ' + id + ' (' + p.address + ') known, ' + p.view.toLowerCase() + ' view');
      } else {
        if (o.view !== p.view) {
          addEvent('peer ' + id + ' moved to the ' + p.view.toLowerCase() + ' view');
        }
        if ((o.state || '-') !== (p.state || '-')) {
          addEvent('peer ' + id + ' ' + (o.state || '-') + ' \u2192 ' + (p.state || '-'));
        }
      }
      old.delete(p.node_id);
    });
    old.forEach((p) => addEvent('peer ' + p.node_id.substring(0, 8) + ' forgotten'));
    STATES.forEach((k) => {
      const a = before.status.fragments[k] || 0;
      const b = now.status.fragments[k] || 0;
      if (a !== b) {
        addEvent(k + ' fragments ' + a + ' \u2192 ' + b);
      }
    });
    if (now.status.scrubber.failures > before.status.scrubber.failures) {
      addEvent('scrubber found ' + (now.status.scrubber.failures - before.status.scrubber.failures)
        + ' damaged fragment(s)');
    }
  }

  function addEvent(text) {
    events.unshift({ at: new Date(), text: text });
    events.length = Math.min(events.length, MAX_EVENTS);
    drawEvents();
  }

  function drawEvents() {
    const ol = $('events');
    ol.replaceChildren();
    events.forEach((e) => {
      const li = document.createElement('li');
      const t = document.createElement('time');
      t.textContent = e.at.toLocaleTimeString();
      li.append(t, document.createTextNode(e.text));
      ol.appendChild(li);
    });
  }

  function duration(seconds) {
    const d = Math.floor(seconds / 86400);
    const h = Math.floor(seconds % 86400 / 3600);
    const m = Math.floor(seconds % 3600 / 60);
    const s = seconds % 60;
    if (d > 0) {
      return d + 'd ' + h + 'h ' + m + 'm';
    }
    if (h > 0) {
      return h + 'h ' + m + 'm ' + s + 's';
    }
    return m > 0 ? m + 'm ' + s + 's' : s + 's';
  }

  // ---- wiring ----

  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = $('key').value.trim();
    if (k) {
      sessionStorage.setItem(KEY_ITEM, k);
      $('key').value = '';
      start();
    }
  });
  $('logout').addEventListener('click', () => forgetKey(''));

  takeKeyFromUrl();
  if (apiKey()) {
    start();
  } else {
    showLogin('');
  }
})();
