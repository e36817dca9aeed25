/**
 * The core of the sandbox inbox page's one inline script, inlined at build time
 * (scripts/inline-browser.js joins inbox.js, inbox-viewer.js, inbox-faults.js and inbox-start.js in
 * that order in one function scope). It polls the JSON API and renders the list. Every value from
 * the sandbox is shown with textContent, never parsed as HTML. Everything below this comment is
 * inlined as it is.
 */

'use strict';
var LIMIT = 1000, POLL_MS = 2000;
/** @param {string} id */
function $(id) { return /** @type {HTMLElement} */ (document.getElementById(id)); }
var listEl = $('list'), filterEl = /** @type {HTMLInputElement} */ ($('filter')), emptyEl = $('empty');
/** @type {{ letters: any[], total: number, q: string, found: any[] | null, selected: string | null, view: string, known: Set<string> | null, reveal: boolean }} */
var state = { letters: [], total: 0, q: '', found: null, selected: null, view: 'rendered', known: null, reveal: false };
var slots = {};

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function fold(s) { return String(s).normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase(); }
function termsOf(q) { return fold(q).split(/\s+/).filter(Boolean); }
function pad(n) { return n < 10 ? '0' + n : String(n); }
function timeText(iso) {
  var d = new Date(iso), now = new Date();
  var t = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  if (d.toDateString() === now.toDateString()) return t;
  var opts = /** @type {Intl.DateTimeFormatOptions} */ ({ month: 'short', day: 'numeric' });
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return d.toLocaleDateString(undefined, opts) + ' ' + t.slice(0, 5);
}
function sizeText(n) {
  if (n < 1024) return n + ' B';
  return n < 1048576 ? (n / 1024).toFixed(1) + ' KB' : (n / 1048576).toFixed(1) + ' MB';
}
function plural(n, word) { return n.toLocaleString() + ' ' + word + (n === 1 ? '' : 's'); }

/** GET JSON with If-None-Match per slot: { data, total, changed }. */
async function getJson(slot, url) {
  var prev = slots[slot];
  var same = prev && prev.url === url;
  var res = await fetch(url, { cache: 'no-store', headers: same && prev.etag ? { 'If-None-Match': prev.etag } : {} });
  if (res.status === 304 && same) return { data: prev.data, total: prev.total, changed: false };
  if (!res.ok) throw new Error('HTTP ' + res.status);
  var data = await res.json();
  var total = Number(res.headers.get('X-Total-Count') || (Array.isArray(data) ? data.length : 0));
  slots[slot] = { url: url, etag: res.headers.get('ETag') || '', data: data, total: total };
  return { data: data, total: total, changed: true };
}

/** Matches on what the row shows (time and size as displayed); the server matches keys and text. */
function localMatch(l, terms) {
  var hay = fold([timeText(l.receivedAt), sizeText(l.size), l.receivedAt, l.id, l.patientKey, l.providerKey,
    l.practiceLocationKey, l.template || '', l.subject || ''].join(' '));
  return terms.every(function (t) { return hay.indexOf(t) >= 0; });
}
function visible() {
  if (!state.q) return state.letters;
  var terms = termsOf(state.q), byId = new Map();
  (state.found || []).forEach(function (l) { byId.set(l.id, l); });
  state.letters.forEach(function (l) { if (!byId.has(l.id) && localMatch(l, terms)) byId.set(l.id, l); });
  return Array.from(byId.values()).sort(function (a, b) { return a.receivedAt < b.receivedAt ? 1 : a.receivedAt > b.receivedAt ? -1 : 0; });
}

function key(label, value) {
  var k = el('span', 'key mono', value);
  k.title = label + ': ' + value;
  k.prepend(el('b', '', label));
  return k;
}
function row(l) {
  var a = el('a', 'row');
  a.href = '#' + l.id;
  a.dataset.id = l.id;
  if (l.id === state.selected) { a.classList.add('selected'); a.setAttribute('aria-current', 'true'); }
  if (state.known && !state.known.has(l.id)) a.classList.add('fresh');
  var subject = el('span', l.subject ? 'subject' : 'subject none', l.subject || '(no title)');
  if (l.subject) subject.title = l.subject;
  var time = el('time', 'time', timeText(l.receivedAt));
  time.dateTime = l.receivedAt;
  time.title = new Date(l.receivedAt).toString();
  var keys = el('div', 'keys');
  keys.append(key('Provider', l.providerKey), key('Location', l.practiceLocationKey));
  var tag = el('span', l.template ? 'tag' : '', l.template || '');
  if (l.template) tag.title = 'Template: ' + l.template;
  a.append(subject, time, key('Patient', l.patientKey), el('span', 'size', sizeText(l.size)), keys, tag);
  if (state.q && l.match) {
    var m = l.match, snip = el('div', 'snippet');
    snip.append(m.text.slice(0, m.start), el('mark', '', m.text.slice(m.start, m.end)), m.text.slice(m.end));
    a.append(snip);
  }
  var li = el('li');
  li.append(a);
  return li;
}

function render() {
  var rows = visible(), frag = document.createDocumentFragment();
  rows.forEach(function (l) { frag.append(row(l)); });
  listEl.replaceChildren(frag);
  if (state.reveal) {
    state.reveal = false;
    var sel = listEl.querySelector('a.row.selected');
    if (sel) sel.scrollIntoView({ block: 'nearest' });
  }
  state.known = new Set(state.letters.map(function (l) { return l.id; }));
  var count = $('count');
  if (state.q) count.textContent = rows.length.toLocaleString() + ' of ' + plural(state.total, 'letter') + ' match';
  else if (state.total > state.letters.length) count.textContent = plural(state.total, 'letter') + ' · newest ' + state.letters.length.toLocaleString() + ' shown';
  else count.textContent = plural(state.total, 'letter');
  $('clear').hidden = state.total === 0;
  document.title = (state.total ? '(' + state.total + ') ' : '') + 'Canvas sandbox inbox';
  emptyEl.hidden = rows.length > 0;
  listEl.hidden = rows.length === 0;
  emptyEl.replaceChildren();
  if (rows.length > 0) return;
  if (state.q) {
    emptyEl.append(el('strong', '', 'No letters match'), el('span', '', 'Nothing has “' + state.q + '” in its keys, template, title or text.'));
  } else {
    emptyEl.append(el('strong', '', 'No letters yet'),
      el('span', '', 'Letters appear here as they arrive. Run send with the environment lines the sandbox printed at start, e.g.:'),
      el('pre', '', 'CANVAS_BASE_URL=' + location.origin + '\nCANVAS_CLIENT_ID=…\nCANVAS_CLIENT_SECRET=…\n\ncanvas-letters send samples/jury-duty.csv -t jury-duty'));
  }
}

var searchSeq = 0;
async function runSearch() {
  var q = state.q, mine = ++searchSeq;
  if (!q) { state.found = null; return true; }
  var r = await getJson('search', '/sandbox/letters?limit=' + LIMIT + '&q=' + encodeURIComponent(q));
  if (mine !== searchSeq || q !== state.q) return false;
  var had = state.found !== null;
  state.found = r.data;
  return r.changed || !had;
}
var debounce;
filterEl.addEventListener('input', function () {
  state.q = filterEl.value.trim();
  state.found = null;
  state.reveal = true;
  render();
  clearTimeout(debounce);
  debounce = setTimeout(function () {
    runSearch().then(function (c) { if (c) { state.reveal = true; render(); } }, function () { setLive(false); });
  }, 120);
});

function setLive(ok) {
  var live = $('live');
  live.classList.toggle('off', !ok);
  live.textContent = ok ? 'Live' : 'Sandbox not answering';
}
function showStats(s) {
  var faults = 0;
  Object.keys(s.outcomes || {}).forEach(function (k) { if (k !== 'ok') faults += s.outcomes[k]; });
  $('stats').textContent = plural(s.letterRequests, 'request') + ' · ' + plural(faults, 'fault') + ' injected' +
    (s.fhirReads ? ' · ' + plural(s.fhirReads, 'FHIR read') : '');
}

var timer, busy = false, pending = false;
/** Poll now (and every POLL_MS after); a call during a poll runs one more right after it. */
function tick() {
  clearTimeout(timer);
  if (busy) { pending = true; return; }
  busy = true;
  poll().finally(function () {
    busy = false;
    if (pending) { pending = false; tick(); } else timer = setTimeout(tick, POLL_MS);
  });
}
async function poll() {
  try {
    var list = await getJson('list', '/sandbox/letters?limit=' + LIMIT);
    state.letters = list.data;
    state.total = list.total;
    var changed = list.changed;
    if (state.q && (await runSearch())) changed = true;
    if (changed || state.known === null) render();
    showStats(await (await fetch('/sandbox/stats', { cache: 'no-store' })).json());
    showFaults(await (await fetch('/sandbox/faults', { cache: 'no-store' })).json());
    setLive(true);
  } catch {
    setLive(false);
  }
}
