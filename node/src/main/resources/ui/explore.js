// The memory explorer: searches and browses this node's fragments through its API and shows
// each with its scope, metadata, state, replicas and history. Plain JavaScript, no libraries.
// Fragment texts and metadata are untrusted (any client or peer may have written them): they
// go into the page only as text (textContent, createTextNode), never as markup.
'use strict';

(function () {
  const KEY_ITEM = 'mycelium.apiKey';
  const FLAGGED = ['BLANK', 'LOST', 'DELETED', 'UNKNOWN'];
  const SCOPE_KEYS = ['agent', 'run'];
  const HIDDEN_KEYS = ['agent', 'run', 'supersedes'];
  const TEXT_IN_HISTORY = 160;
  const DETAIL_REQUESTS = 4;
  // What a fragment without text means, by state (DESIGN: the fragment states).
  const MISSING = {
    BLANK: 'BLANK: known to exist, no good copy here; repair asks its holders for one',
    LOST: 'LOST: no copy found yet; repair keeps trying with growing back-off',
    DELETED: 'DELETED: deleted by its owner (a signed tombstone is kept)',
  };

  const $ = (id) => document.getElementById(id);
  let selfId = null;

  class Unauthorized extends Error {}

  // ---- the API key, as on the dashboard: from #key=... once, then this tab's storage ----

  // #q=... opens the explorer on that search, #id=... on one fragment (a link from a card, from
  // elsewhere, or a bookmark). The key, if the address carried one, leaves it at once.
  function takeKeyFromUrl() {
    const q = /(?:^#|&)q=([^&]+)/.exec(location.hash);
    if (q) {
      $('q').value = decodeURIComponent(q[1]);
    }
    const st = /(?:^#|&)states=([A-Z,]+)(?:&|$)/.exec(location.hash);
    if (st) {
      const wanted = st[1].split(',');
      document.querySelectorAll('input[name=state]').forEach((c) => {
        c.checked = wanted.includes(c.value);
      });
    }
    const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(KEY_ITEM, decodeURIComponent(m[1]));
      const rest = location.hash.replace(/(?:^#|&)key=[^&]*/, '').replace(/^&/, '');
      history.replaceState(null, '', location.pathname + (rest ? '#' + rest : ''));
    }
  }

  function wantedId() {
    const m = /(?:^#|&)id=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
    return m ? m[1] : null;
  }

  function apiKey() {
    return sessionStorage.getItem(KEY_ITEM);
  }

  function showLogin(message) {
    $('login').hidden = false;
    $('explorer').hidden = true;
    $('logout').hidden = true;
    $('login-error').textContent = message || '';
    $('node-id').textContent = 'not connected';
  }

  async function api(method, path, body) {
    const init = {
      method: method,
      headers: { Authorization: 'Bearer ' + apiKey() },
      cache: 'no-store',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    if (r.status === 401) {
      throw new Unauthorized();
    }
    let json = null;
    try {
      json = await r.json();
    } catch (e) {
      json = null;
    }
    if (r.status >= 400) {
      const why = json && json.message ? json.message : 'HTTP ' + r.status;
      throw new Error(why + (json && json.field ? ' (field ' + json.field + ')' : ''));
    }
    return json;
  }

  async function start() {
    $('login').hidden = true;
    $('explorer').hidden = false;
    $('logout').hidden = false;
    try {
      const status = await api('GET', '/v1/status');
      selfId = status.node_id;
      $('node-id').textContent = selfId;
      await route();
    } catch (e) {
      failed(e);
    }
  }

  function failed(e) {
    if (e instanceof Unauthorized) {
      sessionStorage.removeItem(KEY_ITEM);
      showLogin('The node refused this API key.');
      return;
    }
    $('error').textContent = e.message;
  }

  // ---- what the forms ask for ----

  function filter() {
    const f = {};
    const agent = $('f-agent').value.trim();
    const run = $('f-run').value.trim();
    if (agent) {
      f.agent = agent;
    }
    if (run) {
      f.run = run;
    }
    const md = {};
    $('f-meta').value.split(',').forEach((pair) => {
      const i = pair.indexOf('=');
      if (i > 0) {
        md[pair.substring(0, i).trim()] = pair.substring(i + 1).trim();
      }
    });
    if (Object.keys(md).length > 0) {
      f.metadata = md;
    }
    if ($('f-own').checked && selfId) {
      f.owner = selfId;
    }
    return f;
  }

  async function browse() {
    const states = Array.from(document.querySelectorAll('input[name=state]:checked'))
      .map((c) => c.value);
    if (states.length === 0) {
      throw new Error('pick at least one state');
    }
    const body = {
      filter: filter(),
      states: states,
      include_superseded: $('f-hidden').checked,
      limit: Number($('f-limit').value) || 50,
    };
    const r = await api('POST', '/v1/fragments/list', body);
    $('summary').textContent = r.fragments.length + ' of ' + r.total + ' fragments'
      + (r.truncated ? ' (raise the limit to see more)' : '') + ', newest first; flagged first';
    await show(r.fragments, false);
  }

  // What the address asks for: one fragment, a search, or the listing.
  function route() {
    const id = wantedId();
    if (id) {
      return one(id);
    }
    return $('q').value.trim() ? search() : browse();
  }

  // One fragment as GET shows it (a BLANK one is first asked of a holder), with its history.
  async function one(id) {
    const f = await api('GET', '/v1/fragments/' + id);
    $('summary').textContent = 'fragment ' + id;
    await show([f], false);
  }

  async function search() {
    const text = $('q').value.trim();
    if (!text) {
      return browse();
    }
    const body = { text: text, k: Number($('k').value) || 10, scope: 'local', filter: filter() };
    const r = await api('POST', '/v1/search', body);
    $('summary').textContent = r.hits.length + ' hits for \u201c' + text + '\u201d in '
      + r.took_ms + ' ms (this node only)';
    await show(r.hits, true);
  }

  // ---- drawing ----

  // fromSearch: the entries are search hits, which lack what only GET tells (replicas).
  async function show(fragments, fromSearch) {
    $('error').textContent = '';
    const box = $('results');
    box.replaceChildren();
    const todo = fragments.map((f) => {
      const card = document.createElement('article');
      box.appendChild(card);
      draw(card, f, null);
      return () => fill(card, f, fromSearch);
    });
    // A few detail requests at a time: a page of 1000 must not fill the node's request queue
    // (api.max-queued-requests) and be answered 503.
    const workers = [];
    for (let w = 0; w < DETAIL_REQUESTS; w++) {
      workers.push((async () => {
        while (todo.length > 0) {
          await todo.shift()();
        }
      })());
    }
    await Promise.all(workers);
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  }

  // A card from what the list or search said, then completed with what only GET and history
  // tell (replicas of a search hit, the chain of versions).
  async function fill(card, f, fromSearch) {
    let full = f;
    let chain = null;
    try {
      if (fromSearch) {
        full = Object.assign({}, f, await api('GET', '/v1/fragments/' + f.id));
        if (f.score !== undefined) {
          full.score = f.score;
        }
      }
      const md = full.metadata || {};
      if (md.supersedes || full.superseded_by) {
        chain = await api('GET', '/v1/fragments/' + f.id + '/history');
      }
    } catch (e) {
      if (e instanceof Unauthorized) {
        throw e;
      }
      chain = { error: e.message };
    }
    draw(card, full, chain);
  }

  function draw(card, f, chain) {
    card.replaceChildren();
    const state = f.state || 'UNKNOWN';
    card.className = 'card fragment ' + (FLAGGED.includes(state) ? 'flagged ' : '') + state;
    card.dataset.id = f.id;
    card.dataset.state = state;

    const head = add(card, 'div', 'fragment-head');
    add(head, 'span', 'badge state ' + state, state);
    if (f.substitute_for) {
      add(head, 'span', 'badge substitute', 'stands in for ' + f.substitute_for.substring(0, 12))
        .title = f.substitute_for;
    }
    if (f.superseded_by) {
      add(head, 'span', 'badge superseded', 'superseded');
    }
    const link = add(head, 'a', 'fid mono', f.id.substring(0, 16));
    link.href = '#id=' + f.id;
    link.title = f.id;
    if (f.score !== undefined && f.score !== null) {
      add(head, 'span', 'muted', 'score ' + Number(f.score).toFixed(3));
    }
    if (f.created_at) {
      add(head, 'time', 'muted', new Date(f.created_at).toLocaleString());
    }

    if (typeof f.text === 'string') {
      add(card, 'p', 'text', f.text);
    } else {
      add(card, 'p', 'text missing', MISSING[state] || 'no copy here (' + state + ')');
    }

    const md = f.metadata || {};
    const dl = add(card, 'dl', 'facts');
    fact(dl, 'scope', f.metadata ? SCOPE_KEYS.map((k) => k + ' '
      + (md[k] === undefined ? '-' : md[k])).join(' \u00b7 ') : 'unknown without a copy');
    fact(dl, 'owner', f.owner ? (f.owner === selfId ? 'this node' : f.owner.substring(0, 16))
      : 'unknown').title = f.owner || '';
    if (f.visibility) {
      fact(dl, 'visibility', f.visibility);
    }
    const others = Object.keys(md).filter((k) => !HIDDEN_KEYS.includes(k)).sort();
    if (others.length > 0) {
      fact(dl, 'metadata', others.map((k) => k + '=' + md[k]).join(', '));
    }
    replicas(dl, f);
    if (chain) {
      historyOf(card, f, chain);
    }
  }

  function replicas(dl, f) {
    const r = f.replicas;
    if (!r) {
      fact(dl, 'replicas', f.owner && f.owner !== selfId ? 'kept by its owner'
        : 'no replication on this node');
      return;
    }
    const confirmed = r.holders.filter((h) => r.confirmed.includes(h));
    const dd = fact(dl, 'replicas', confirmed.length + ' of ' + r.holders.length
      + ' holders confirmed');
    dd.classList.add('replicas');
    dd.dataset.confirmed = String(confirmed.length);
    dd.dataset.holders = String(r.holders.length);
    const ul = add(dd, 'ul', 'holders');
    r.holders.forEach((h) => {
      const ok = r.confirmed.includes(h);
      const li = add(ul, 'li', ok ? 'confirmed' : 'unconfirmed',
        h.substring(0, 8) + (ok ? ' \u2713' : ''));
      li.title = h + (ok ? ' confirmed this replica' : ' placed, no confirmation seen since start');
    });
  }

  function historyOf(card, f, chain) {
    const box = add(card, 'div', 'history');
    if (chain.error) {
      add(box, 'p', 'error', 'history: ' + chain.error);
      return;
    }
    add(box, 'h3', null, 'History (' + chain.versions.length + ' versions, oldest first)');
    const ol = add(box, 'ol', 'versions');
    ol.dataset.versions = String(chain.versions.length);
    chain.versions.forEach((v) => {
      const li = add(ol, 'li', 'version ' + (v.state || 'UNKNOWN'));
      li.dataset.id = v.id;
      add(li, 'span', 'badge state ' + v.state, v.state);
      const link = add(li, 'a', 'fid mono', v.id.substring(0, 12));
      link.href = '#id=' + v.id;
      link.title = v.id;
      if (v.id === chain.current) {
        add(li, 'span', 'badge current', 'current');
      } else if (v.superseded_by) {
        add(li, 'span', 'badge superseded', 'superseded');
      }
      if (v.id === f.id) {
        add(li, 'span', 'muted', '(this card)');
      }
      if (typeof v.text === 'string') {
        add(li, 'span', 'vtext', v.text.length > TEXT_IN_HISTORY
          ? v.text.substring(0, TEXT_IN_HISTORY) + '\u2026' : v.text);
      }
    });
  }

  function fact(dl, name, value) {
    add(dl, 'dt', null, name);
    return add(dl, 'dd', null, value);
  }

  // Creates a child element; its text, if any, is set as text, never parsed as markup.
  function add(parent, tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = String(text);
    }
    parent.appendChild(e);
    return e;
  }

  // ---- wiring ----

  function guarded(fn) {
    return (ev) => {
      ev.preventDefault();
      fn().catch(failed);
    };
  }

  // The forms clear an #id=... from the address, so that a later click on the same ID works.
  function leaveFragment() {
    if (wantedId()) {
      history.replaceState(null, '', location.pathname);
    }
  }

  $('search-form').addEventListener('submit', guarded(() => {
    leaveFragment();
    return search();
  }));
  $('browse-form').addEventListener('submit', guarded(() => {
    leaveFragment();
    $('q').value = '';
    return browse();
  }));
  window.addEventListener('hashchange', () => {
    if (apiKey() && selfId) {
      route().catch(failed);
    }
  });
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = $('key').value.trim();
    if (k) {
      sessionStorage.setItem(KEY_ITEM, k);
      $('key').value = '';
      start();
    }
  });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_ITEM);
    showLogin('');
  });

  takeKeyFromUrl();
  if (apiKey()) {
    start();
  } else {
    showLogin('');
  }
})();
