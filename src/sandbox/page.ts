/**
 * The sandbox inbox page (GET /): one self-contained HTML document, inline CSS and one inline
 * script (src/sandbox/browser/, inlined at build time), no data in it. The script fills it from
 * the JSON API, showing every value with textContent, so nothing from a letter is ever parsed as
 * HTML in the page; letters themselves are shown in an iframe with sandbox="" (no scripts, opaque
 * origin).
 */
import { INBOX_SCRIPT } from './browser.generated.js';

/** Fault kinds the form offers, with a short description (static text). */
const RATE_KINDS: [string, string][] = [
  ['429', 'Too many requests'],
  ['503', 'Service unavailable'],
  ['500', 'Server error'],
  ['502', 'Bad gateway'],
  ['504', 'Gateway timeout'],
  ['422', 'Patient not found'],
  ['403', 'Forbidden'],
  ['401', 'Token refused'],
  ['reset', 'Connection reset'],
  ['hang', 'Never answers'],
];

const STYLE = `
:root { --ink: #1d2330; --muted: #5b6475; --line: #e3e7ee; --bg: #f4f6f9; --accent: #2b5d8a; --soft: #e9f1f9;
  --navy: #10263d; --navy2: #1a3651; --danger: #b3261e; --ok: #1b7a3a; color-scheme: light; }
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink);
  background: var(--bg); display: flex; flex-direction: column; overflow: hidden; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
button, input, select { font: inherit; color: inherit; }
[hidden] { display: none !important; }
header.top { flex: none; display: flex; align-items: center; gap: 18px; padding: 10px 20px; background: var(--navy); color: #fff; }
.brand { display: flex; align-items: center; gap: 10px; font-weight: 600; font-size: 15px; white-space: nowrap; }
.brand svg { width: 24px; height: 24px; }
.brand small { font-weight: 400; color: #9fb3c8; font-size: 13px; }
.search { flex: 1; max-width: 560px; position: relative; }
.search svg { position: absolute; left: 10px; top: 9px; width: 16px; height: 16px; color: #9fb3c8; pointer-events: none; }
.search input { width: 100%; height: 34px; border-radius: 7px; border: 1px solid #2f4d6b; background: var(--navy2); color: #fff; padding: 0 12px 0 34px; }
.search input::placeholder { color: #93a8bf; }
.search input:focus { outline: none; border-color: #7fb0de; background: #fff; color: var(--ink); }
.search kbd { position: absolute; right: 9px; top: 8px; font: 11px/16px ui-monospace, Menlo, Consolas, monospace; color: #9fb3c8;
  border: 1px solid #3b5a78; border-radius: 4px; padding: 0 5px; pointer-events: none; }
.search input:focus ~ kbd, .search input:not(:placeholder-shown) ~ kbd { display: none; }
.status { margin-left: auto; display: flex; align-items: center; gap: 16px; color: #c3d1e0; font-size: 12.5px; white-space: nowrap; }
.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 7px; vertical-align: 1px;
  background: #3ecf8e; box-shadow: 0 0 0 3px rgba(62, 207, 142, .22); }
.live.off::before { background: #e5484d; box-shadow: 0 0 0 3px rgba(229, 72, 77, .25); }
.btn { height: 32px; padding: 0 12px; border-radius: 7px; border: 1px solid #35536f; background: transparent; color: #fff; cursor: pointer;
  display: inline-flex; align-items: baseline; gap: 8px; white-space: nowrap; line-height: 30px; }
.btn:hover { background: var(--navy2); }
.btn .badge { color: #b5c6d8; font-size: 12px; max-width: 220px; overflow: hidden; text-overflow: ellipsis; }
.btn .badge.on { color: #ffd27a; }
main { flex: 1; display: flex; min-height: 0; position: relative; }
.list-pane { width: 410px; flex: none; display: flex; flex-direction: column; min-height: 0; background: #fff; border-right: 1px solid var(--line); }
.list-head { flex: none; display: flex; justify-content: space-between; align-items: center; padding: 9px 16px; border-bottom: 1px solid var(--line);
  color: var(--muted); font-size: 12.5px; background: #fbfcfd; }
.link { border: 0; background: none; color: var(--danger); cursor: pointer; padding: 0; font-size: 12.5px; }
.link:hover { text-decoration: underline; }
#list { list-style: none; margin: 0; padding: 0; overflow: auto; flex: 1; }
a.row { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 3px 12px; padding: 10px 16px 10px 13px; color: inherit; text-decoration: none;
  border-left: 3px solid transparent; border-bottom: 1px solid var(--line); }
a.row:hover { background: #f7f9fc; }
a.row:focus-visible { outline: 2px solid #7fb0de; outline-offset: -2px; }
a.row.selected { background: var(--soft); border-left-color: var(--accent); }
a.row.fresh { animation: fresh 2.5s ease-out; }
@keyframes fresh { from { background: #fff4cc; } to { background: transparent; } }
.subject { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.subject.none { font-weight: 400; font-style: italic; color: var(--muted); }
.time, .size { color: var(--muted); font-size: 12px; text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.keys { display: flex; gap: 14px; min-width: 0; }
.key { min-width: 0; flex: 1 1 0; font-size: 12px; color: #3a4556; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.key b { font: 600 10px system-ui, sans-serif; letter-spacing: .05em; text-transform: uppercase; color: #8a93a3; margin-right: 6px; }
.snippet { grid-column: 1 / -1; margin-top: 3px; font-size: 12.5px; color: #3a4556; line-height: 1.4;
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
.snippet mark { background: #fff0b3; color: inherit; border-radius: 2px; padding: 0 1px; }
.tag { justify-self: end; align-self: center; font-size: 11.5px; line-height: 18px; padding: 0 8px; border-radius: 9px; background: #eef4fa;
  color: var(--accent); border: 1px solid #d3e1ee; white-space: nowrap; max-width: 140px; overflow: hidden; text-overflow: ellipsis; }
.empty { padding: 40px 24px; color: var(--muted); text-align: center; }
.empty strong { display: block; color: var(--ink); font-size: 15px; margin-bottom: 6px; }
.empty pre { text-align: left; background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; font-size: 12px;
  color: var(--ink); white-space: pre-wrap; overflow-wrap: anywhere; margin: 14px 0 0; }
.viewer { flex: 1; min-width: 0; display: flex; flex-direction: column; min-height: 0; }
.placeholder { margin: auto; color: var(--muted); text-align: center; }
.placeholder svg { width: 48px; height: 48px; color: #b8c2cf; display: block; margin: 0 auto 10px; }
#detail { display: flex; flex-direction: column; min-height: 0; flex: 1; }
.detail-head { flex: none; background: #fff; border-bottom: 1px solid var(--line); padding: 16px 24px 0; }
.detail-head h2 { margin: 0; font-size: 18px; font-weight: 600; }
.letter-key { margin: 2px 0 14px; color: #8a93a3; font-size: 12px; }
.letter-key code { color: var(--muted); user-select: all; }
dl.meta { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 10px 28px; margin: 0 0 12px; }
dl.meta div { min-width: 0; }
dt { font-size: 10.5px; letter-spacing: .06em; text-transform: uppercase; color: #8a93a3; font-weight: 600; }
dd { margin: 1px 0 0; font-size: 13px; overflow-wrap: anywhere; }
dd code { font-size: 12.5px; user-select: all; }
.tabs { display: flex; align-items: center; gap: 4px; }
.tab { border: 0; background: none; padding: 8px 12px; border-bottom: 2px solid transparent; color: var(--muted); font-weight: 500; cursor: pointer; }
.tab:hover { color: var(--ink); }
.tab[aria-selected="true"] { color: var(--accent); border-bottom-color: var(--accent); }
.tabs .hint { margin-left: auto; color: #8a93a3; font-size: 12px; }
.tabs a { color: var(--accent); font-size: 12.5px; margin-left: 14px; }
.stage { flex: 1; overflow: auto; background: #e3e8ee; padding: 28px; }
.paper { display: block; margin: 0 auto; width: 8.5in; height: 11in; border: 0; background: #fff;
  box-shadow: 0 1px 2px rgba(16, 24, 40, .08), 0 12px 32px rgba(16, 24, 40, .16); }
pre.paper { height: auto; min-height: 11in; padding: .6in; margin: 0 auto; font-size: 12px; line-height: 1.55; color: #24292f;
  white-space: pre-wrap; overflow-wrap: anywhere; }
#faults-panel { position: absolute; top: 10px; right: 16px; width: 640px; max-height: calc(100% - 20px); overflow: auto; z-index: 5; background: #fff;
  border: 1px solid var(--line); border-radius: 10px; box-shadow: 0 16px 40px rgba(16, 24, 40, .2); padding: 18px 20px; }
#faults-panel h3 { margin: 0 0 4px; font-size: 15px; }
#faults-panel p.note { margin: 0 0 14px; color: var(--muted); font-size: 12.5px; }
.grid4 { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-bottom: 16px; }
.field { display: flex; flex-direction: column; gap: 4px; font-size: 12px; color: var(--muted); font-weight: 500; }
.field input, .field select, .rate input { height: 30px; border: 1px solid #cfd6e0; border-radius: 6px; padding: 0 8px; background: #fff; color: var(--ink); width: 100%; }
.field input:focus, .rate input:focus, .field select:focus { outline: 2px solid #b9d3ee; border-color: #7fb0de; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px 12px; margin: 0 0 14px; }
legend { font-size: 12px; color: var(--muted); font-weight: 600; padding: 0 6px; }
.rates { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 24px; }
.rate { display: grid; grid-template-columns: 44px 1fr 76px; align-items: center; gap: 8px; font-size: 13px; }
.rate code { font-weight: 600; color: var(--accent); }
.rate span { color: var(--muted); font-size: 12.5px; }
.actions { display: flex; align-items: center; gap: 10px; }
.actions .msg { margin-right: auto; font-size: 12.5px; color: var(--muted); }
.actions .msg.ok { color: var(--ok); }
.actions .msg.error { color: var(--danger); }
.primary, .secondary { height: 32px; padding: 0 14px; border-radius: 7px; cursor: pointer; font-weight: 500; }
.primary { background: var(--accent); border: 1px solid var(--accent); color: #fff; }
.primary:hover { background: #234d73; }
.secondary { background: #fff; border: 1px solid #cfd6e0; }
.secondary:hover { background: #f6f8fa; }
`;

const ICON_MAIL =
  '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.6" aria-hidden="true"><rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3.5 6.5 8.5 6.5 8.5-6.5"/></svg>';
const ICON_SEARCH =
  '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true"><circle cx="11" cy="11" r="7"/><path d="m20 20-3.5-3.5"/></svg>';

const RATE_INPUTS = RATE_KINDS.map(
  ([kind, what]) =>
    `<label class="rate"><code>${kind}</code><span>${what}</span><input type="number" name="rate-${kind}" min="0" max="1" step="0.01" value="0" aria-label="rate of ${kind} (${what}), 0 to 1"></label>`,
).join('\n');

export const INBOX_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Canvas sandbox inbox</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top">
  <div class="brand">${ICON_MAIL}<span>Canvas sandbox <small>Letter inbox</small></span></div>
  <div class="search">${ICON_SEARCH}<input id="filter" type="search" autocomplete="off" spellcheck="false"
    placeholder="Filter by patient, provider, location, template, title or text" aria-label="Filter letters"><kbd title="Press / to filter">/</kbd></div>
  <div class="status"><span id="live" class="live">Live</span><span id="stats"></span></div>
  <button id="faults-toggle" class="btn" type="button" aria-expanded="false" aria-controls="faults-panel">Faults <span id="faults-badge" class="badge">none</span></button>
</header>
<main>
  <nav class="list-pane" aria-label="Letters">
    <div class="list-head"><span id="count">Loading…</span><button id="clear" class="link" type="button" hidden>Delete all</button></div>
    <ol id="list"></ol>
    <div id="empty" class="empty" hidden></div>
  </nav>
  <section class="viewer" aria-label="Letter">
    <div id="placeholder" class="placeholder">${ICON_MAIL}<span id="placeholder-text">Select a letter to see it as it will appear in the patient's chart.</span></div>
    <article id="detail" hidden>
      <div class="detail-head">
        <h2 id="d-subject"></h2>
        <p class="letter-key">Letter key <code id="d-id"></code></p>
        <dl class="meta">
          <div><dt>Patient</dt><dd><code id="d-patient"></code></dd></div>
          <div><dt>Provider</dt><dd><code id="d-provider"></code></dd></div>
          <div><dt>Location</dt><dd><code id="d-location"></code></dd></div>
          <div><dt>Received</dt><dd id="d-time"></dd></div>
          <div><dt>Template</dt><dd id="d-template"></dd></div>
          <div><dt>Size</dt><dd id="d-size"></dd></div>
        </dl>
        <div class="tabs" role="tablist">
          <button id="tab-rendered" class="tab" type="button" role="tab" aria-selected="true" aria-controls="frame">Rendered</button>
          <button id="tab-source" class="tab" type="button" role="tab" aria-selected="false" aria-controls="source">HTML source</button>
          <span class="hint">US Letter · 8.5 × 11 in</span><a id="raw" href="#" target="_blank" rel="noopener noreferrer">Open raw</a>
        </div>
      </div>
      <div class="stage">
        <iframe id="frame" class="paper" sandbox="" title="Rendered letter" referrerpolicy="no-referrer"></iframe>
        <pre id="source" class="paper" hidden></pre>
      </div>
    </article>
  </section>
  <section id="faults-panel" aria-label="Fault injection" hidden>
    <h3>Fault injection</h3>
    <p class="note">Applies to the next Letter requests. Each request gets at most one fault, drawn with the sandbox's seed.</p>
    <form id="faults-form" novalidate>
      <div class="grid4">
        <label class="field">Latency (ms)<input name="latency" type="number" min="0" step="1" value="0"></label>
        <label class="field">Token lifetime (s)<input name="lifetime" type="number" min="1" step="1" value="3600"></label>
        <label class="field">Retry-After<input name="retryAfter" type="text" value="1"></label>
        <label class="field">Created answer<select name="responseBody"><option value="json">201 JSON</option><option value="empty">201 empty</option><option value="text">200 text</option></select></label>
      </div>
      <fieldset><legend>Error rates (0 to 1 per request; together at most 1)</legend><div class="rates">
${RATE_INPUTS}
      </div></fieldset>
      <div class="actions"><span id="faults-msg" class="msg" role="status"></span>
        <button id="faults-none" class="secondary" type="button">No faults</button><button class="primary" type="submit">Apply</button></div>
    </form>
  </section>
</main>
<script>${INBOX_SCRIPT}</script>
</body>
</html>
`;
