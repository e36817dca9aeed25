/**
 * The sandbox inbox page (GET /): one self-contained HTML document, inline CSS and one inline
 * script (src/sandbox/browser/, inlined at build time), no data in it. The script fills it from
 * the JSON API, showing every value with textContent, so nothing from a letter is ever parsed as
 * HTML in the page; letters themselves are shown in an iframe with sandbox="" (no scripts, opaque
 * origin).
 */
import { INBOX_SCRIPT, INBOX_STYLE } from './browser.generated.js';

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
<style>${INBOX_STYLE}</style>
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
          <div id="d-approval-row" hidden><dt>Approval</dt><dd><code id="d-approval"></code></dd></div>
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
