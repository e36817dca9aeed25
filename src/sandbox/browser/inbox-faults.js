/**
 * The fault part of the inbox page's script (joined to inbox.js in one function scope): the header
 * badge describing the current faults and the form that changes them with PUT /sandbox/faults.
 * Everything below this comment is inlined as it is.
 */

var KINDS = ['429', '503', '500', '502', '504', '422', '403', '401', 'reset', 'hang'];
var form = /** @type {HTMLFormElement} */ ($('faults-form')), panel = $('faults-panel'), toggleBtn = $('faults-toggle'), msg = $('faults-msg');

function pct(rate) { return Math.round(rate * 1000) / 10 + '%'; }
function describeFaults(f) {
  var parts = [];
  KINDS.forEach(function (k) { var r = f.rates && f.rates[k]; if (r > 0) parts.push(k + ' ' + pct(r)); });
  if (f.latencyMs > 0) parts.push(f.latencyMs + ' ms latency');
  return parts;
}
function showFaults(f) {
  var parts = describeFaults(f), badge = $('faults-badge');
  badge.textContent = parts.length ? parts.join(', ') : 'none';
  badge.classList.toggle('on', parts.length > 0);
  toggleBtn.title = parts.length ? 'Faults: ' + parts.join(', ') : 'No faults injected';
}

/** @param {string} name */
function field(name) { return /** @type {HTMLInputElement | HTMLSelectElement} */ (form.elements.namedItem(name)); }
function fillForm(f) {
  field('latency').value = String(f.latencyMs || 0);
  field('lifetime').value = String(f.tokenLifetimeSeconds || 3600);
  field('retryAfter').value = f.retryAfter || '1';
  field('responseBody').value = f.responseBody || 'json';
  KINDS.forEach(function (k) { field('rate-' + k).value = String((f.rates && f.rates[k]) || 0); });
}
function say(text, kind) {
  msg.textContent = text;
  msg.className = 'msg' + (kind ? ' ' + kind : '');
}
function number(name) {
  var text = field(name).value.trim();
  return text === '' ? 0 : Number(text);
}
function formConfig() {
  var rates = {};
  KINDS.forEach(function (k) { var r = number('rate-' + k); if (r !== 0) rates[k] = r; });
  var config = { latencyMs: number('latency'), tokenLifetimeSeconds: number('lifetime'), rates: rates,
    responseBody: field('responseBody').value };
  var retry = field('retryAfter').value.trim();
  if (retry !== '') config.retryAfter = retry;
  return config;
}
function totalText() {
  var sum = 0;
  KINDS.forEach(function (k) { var r = number('rate-' + k); if (r > 0) sum += r; });
  return sum > 0 ? 'Errors on ' + pct(sum) + ' of requests' : 'No error faults';
}

async function loadFaults() {
  try {
    var res = await fetch('/sandbox/faults', { cache: 'no-store' });
    var f = await res.json();
    fillForm(f);
    say(totalText());
  } catch {
    say('Could not read the current faults.', 'error');
  }
}
async function applyFaults(config) {
  say('Applying…');
  try {
    var res = await fetch('/sandbox/faults', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(config) });
    var body = await res.json();
    if (!res.ok) {
      var text = body && body.issue && body.issue[0] && body.issue[0].details ? body.issue[0].details.text : 'HTTP ' + res.status;
      say('Not applied: ' + text, 'error');
      return;
    }
    fillForm(body);
    showFaults(body);
    say('Applied at ' + new Date().toLocaleTimeString() + ' · ' + totalText(), 'ok');
  } catch {
    say('Not applied: the sandbox is not answering.', 'error');
  }
}

function openPanel(open) {
  panel.hidden = !open;
  toggleBtn.setAttribute('aria-expanded', String(open));
  if (open) { loadFaults(); field('latency').focus(); }
}
toggleBtn.addEventListener('click', function () { openPanel(panel.hidden); });
document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && !panel.hidden) openPanel(false); });
document.addEventListener('click', function (e) {
  if (!panel.hidden && !panel.contains(/** @type {Node} */ (e.target)) && !toggleBtn.contains(/** @type {Node} */ (e.target))) openPanel(false);
});
form.addEventListener('input', function () { say(totalText()); });
form.addEventListener('submit', function (e) { e.preventDefault(); applyFaults(formConfig()); });
$('faults-none').addEventListener('click', function () {
  KINDS.forEach(function (k) { field('rate-' + k).value = '0'; });
  field('latency').value = '0';
  applyFaults(formConfig());
});
