/**
 * The script of `<out>/index.html`, inlined into the page at build time (scripts/inline-browser.js;
 * the CSP allows it by its hash). It reads the rows from the page's JSON block and builds the
 * gallery with DOM APIs only: every value goes in through textContent or an attribute, never as
 * HTML. Cards are built as they scroll into view and letters load lazily, so batches of thousands
 * of rows stay quick. The search splits what was typed into words, folded as the page's index was
 * (the second JSON block: each letter's words less its template's own, and each template's words),
 * and finds the letters that hold every word, the last one as a prefix (so "December 7, 2026" needs
 * december, 7 and 2026); or the rows whose keys hold what was typed. It runs a moment after typing
 * stops, or at Enter. Everything below this comment is inlined as it is.
 */
(() => {
'use strict';
const ROWS = JSON.parse(/** @type {HTMLElement} */ (document.getElementById('rows-data')).textContent);
const INDEX = JSON.parse(/** @type {HTMLElement} */ (document.getElementById('search-data')).textContent);
const PAGE = 120, LETTER_W = 816, LETTER_H = 1056, TYPING_MS = 150;
/** @type {(s: string) => string} lower case without accents, as the page's texts were folded */
const fold = (s) => s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
/** @type {(s: string) => string[]} the words of a text, as the page's index was split */
const words = (s) => fold(s).match(/[\p{L}\p{N}]+/gu) || [];
/** Each row's keys, lower case; its letter's words, and each template's, between spaces. */
const KEYS = ROWS.map((r) => r.keys.join(' ').toLowerCase());
const HAY = ROWS.map((r, i) => ' ' + (INDEX.rows[i] || '') + ' ');
/** @type {Map<string, string>} */
const COMMON = new Map(Object.entries(INDEX.common).map(([name, w]) => [name, ' ' + w + ' ']));
const LABEL = { previewed: 'previewed', sent: 'sent', skipped: 'skipped', invalid: 'invalid', failed: 'failed', unknown: 'unknown', not_attempted: 'not attempted' };
const ORDER = Object.keys(LABEL);
/** @type {(id: string) => HTMLElement} */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const grid = $('grid'), more = $('more'), shown = $('shown'), q = /** @type {HTMLInputElement} */ ($('q')), tpl = /** @type {HTMLSelectElement} */ ($('tpl')), chips = $('chips');
const viewer = /** @type {HTMLDialogElement} */ ($('viewer')), vframe = /** @type {HTMLIFrameElement} */ ($('vframe')), sheet = $('sheet');
const state = { status: '', text: '', terms: /** @type {string[]} */ ([]), template: '' };
const cards = new Map(), thumbs = new WeakMap();
const nearby = new IntersectionObserver(onNearby, { rootMargin: '1200px 0px' });
let list = [], drawn = 0, current = -1, typing = 0;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
const label = (s) => LABEL[s] || s;
const pages = (n) => n + (n === 1 ? ' page' : ' pages');

function chip(value, text, n) {
  const b = el('button', 'chip');
  b.type = 'button';
  b.dataset.status = value;
  b.setAttribute('aria-pressed', String(value === state.status));
  b.append(el('span', 'dot s-' + (value || 'all')), el('span', '', text), el('span', 'n', n));
  b.addEventListener('click', () => { state.status = value; apply(); });
  return b;
}

function setup() {
  const counts = {}, templates = new Set();
  for (const r of ROWS) { counts[r.status] = (counts[r.status] || 0) + 1; if (r.template) templates.add(r.template); }
  chips.replaceChildren(chip('', 'All', ROWS.length), ...ORDER.filter((s) => counts[s]).map((s) => chip(s, label(s), counts[s])));
  for (const t of [...templates].sort()) { const o = el('option', '', t); o.value = t; tpl.append(o); }
  q.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(search, TYPING_MS); });
  q.addEventListener('keydown', (e) => { if (e.key === 'Enter') { clearTimeout(typing); search(); } });
  tpl.addEventListener('change', () => { state.template = tpl.value; apply(); });
  new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) draw(); }, { rootMargin: '1500px' }).observe(more);
  document.addEventListener('keydown', (e) => {
    if (e.key === '/' && !viewer.open && document.activeElement !== q) { e.preventDefault(); q.focus(); }
  });
  setupViewer();
  apply();
}

function search() {
  state.text = fold(q.value).replace(/\s+/g, ' ').trim();
  state.terms = words(q.value);
  apply();
}

function matches(r, i) {
  if (state.status && r.status !== state.status) return false;
  if (state.template && r.template !== state.template) return false;
  const t = state.text;
  if (!t) return true;
  const rowOnly = /^(?:row\s*|#)(\d+)$/.exec(t);
  if (rowOnly) return r.row === Number(rowOnly[1]);
  if (/^\d+$/.test(t) && r.row === Number(t)) return true;
  if (KEYS[i].includes(t)) return true;
  const hay = HAY[i], common = (r.preview && COMMON.get(r.template)) || '', last = state.terms.length - 1;
  return last >= 0 && state.terms.every((w, j) => {
    const word = j === last ? ' ' + w : ' ' + w + ' ';
    return hay.includes(word) || common.includes(word);
  });
}

function apply() {
  for (const b of /** @type {HTMLCollectionOf<HTMLElement>} */ (chips.children)) b.setAttribute('aria-pressed', String(b.dataset.status === state.status));
  list = ROWS.filter(matches);
  drawn = 0;
  grid.replaceChildren();
  draw();
  shown.textContent = list.length === ROWS.length ? 'Showing all ' + ROWS.length + ' rows' : 'Showing ' + list.length + ' of ' + ROWS.length + ' rows';
  $('empty').hidden = list.length > 0;
}

function draw() {
  const end = Math.min(list.length, drawn + PAGE);
  const frag = document.createDocumentFragment();
  for (; drawn < end; drawn++) {
    const r = list[drawn];
    if (!cards.has(r.row)) cards.set(r.row, card(r));
    frag.append(cards.get(r.row));
  }
  grid.append(frag);
  more.hidden = drawn >= list.length;
}

function card(r) {
  const c = el('article', 'card s-' + r.status);
  c.dataset.row = String(r.row);
  c.dataset.status = r.status;
  const thumb = el('div', r.preview ? 'thumb' : 'thumb none');
  if (r.preview) {
    const open = el('button', 'open');
    open.type = 'button';
    open.setAttribute('aria-label', 'Open the letter for row ' + r.row);
    open.addEventListener('click', () => show(r));
    thumb.append(open);
    thumbs.set(thumb, r);
    nearby.observe(thumb);
  } else {
    thumb.append(el('div', 'big', label(r.status)), el('div', 'why', r.error || 'No letter for this row'));
  }
  const head = el('div', 'head');
  head.append(el('span', 'rowno', 'Row ' + r.row), el('span', 'badge', label(r.status)));
  if (r.excluded) { c.classList.add('excluded'); head.append(el('span', 'badge excl', 'excluded')); }
  head.append(el('span', 'tpl', r.template || '(no template)'));
  head.lastChild.title = r.template;
  const keys = el('dl', 'keys');
  ['Patient', 'Provider', 'Location'].forEach((name, i) => {
    const d = el('div');
    d.append(el('dt', '', name), el('dd', '', r.keys[i] || '\u2014'));
    keys.append(d);
  });
  c.append(thumb, head, keys);
  const msgs = el('ul', 'msgs');
  for (const w of r.warnings || []) msgs.append(el('li', 'w', w));
  if (r.error && r.preview) msgs.append(el('li', 'e', r.error));
  if (msgs.children.length) c.append(msgs);
  if (r.preview) {
    const links = el('div', 'links');
    links.append(link(r.preview, 'Open letter'));
    if (r.pdf) links.append(link(r.pdf, 'PDF' + (r.pdfPages ? ' \u00b7 ' + pages(r.pdfPages) : '')));
    if (r.pdfPages > 1) links.lastChild.classList.add('pages');
    c.append(links);
  }
  return c;
}

// A thumbnail's letter is loaded only while it is near the viewport, and dropped when far
// away, so scrolling through thousands of letters never keeps more than a few dozen loaded.
function frameFor(r) {
  const f = el('iframe');
  f.setAttribute('sandbox', '');
  f.setAttribute('loading', 'lazy');
  f.setAttribute('tabindex', '-1');
  f.setAttribute('aria-hidden', 'true');
  f.title = 'Letter for row ' + r.row;
  f.src = r.preview;
  return f;
}

function onNearby(entries) {
  for (const e of entries) {
    const frame = e.target.querySelector('iframe');
    if (e.isIntersecting && !frame) e.target.prepend(frameFor(thumbs.get(e.target)));
    else if (!e.isIntersecting && frame) frame.remove();
  }
}

function link(href, text) {
  const a = el('a', '', text);
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener';
  return a;
}

function setupViewer() {
  $('vclose').addEventListener('click', () => viewer.close());
  $('vprev').addEventListener('click', () => step(-1));
  $('vnext').addEventListener('click', () => step(1));
  viewer.addEventListener('click', (e) => { if (e.target === viewer) viewer.close(); });
  viewer.addEventListener('close', () => { vframe.src = 'about:blank'; current = -1; });
  viewer.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') step(-1);
    if (e.key === 'ArrowRight') step(1);
  });
  window.addEventListener('resize', fit);
}

function withLetters() { return list.filter((r) => r.preview); }

function step(d) {
  const l = withLetters(), i = l.findIndex((r) => r.row === current) + d;
  if (i >= 0 && i < l.length) show(l[i]);
}

function show(r) {
  current = r.row;
  $('vtitle').textContent = 'Row ' + r.row;
  const b = $('vbadge');
  b.className = 'badge s-' + r.status;
  b.textContent = label(r.status);
  $('vkey').textContent = [r.template, r.keys[0] && 'patient ' + r.keys[0]].filter(Boolean).join(' \u00b7 ');
  /** @type {HTMLAnchorElement} */ ($('vnew')).href = r.preview;
  $('vpdf').hidden = !r.pdf;
  if (r.pdf) { /** @type {HTMLAnchorElement} */ ($('vpdf')).href = r.pdf; $('vpdf').textContent = 'PDF' + (r.pdfPages ? ' \u00b7 ' + pages(r.pdfPages) : ''); }
  vframe.title = 'Letter for row ' + r.row;
  vframe.src = r.preview;
  if (!viewer.open) viewer.showModal();
  const l = withLetters(), i = l.findIndex((x) => x.row === r.row);
  /** @type {HTMLButtonElement} */ ($('vprev')).disabled = i <= 0;
  /** @type {HTMLButtonElement} */ ($('vnext')).disabled = i < 0 || i >= l.length - 1;
  fit();
}

function fit() {
  if (!viewer.open) return;
  const body = $('vbody'), pad = getComputedStyle(body);
  const room = body.clientWidth - parseFloat(pad.paddingLeft) - parseFloat(pad.paddingRight), s = Math.min(1, room / LETTER_W);
  sheet.style.width = LETTER_W * s + 'px';
  sheet.style.height = LETTER_H * s + 'px';
  vframe.style.transform = 'scale(' + s + ')';
}

setup();
})();
