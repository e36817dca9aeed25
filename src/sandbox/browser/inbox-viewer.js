/**
 * The viewer part of the inbox page's script (joined to inbox.js in one function scope): the
 * selected letter's details, its rendered and source views, keyboard moves through the list, and
 * "Delete all". Values go in as textContent. Everything below this comment is inlined as it is.
 */

async function select(id) {
  state.selected = id || null;
  /** @type {NodeListOf<HTMLAnchorElement>} */ (listEl.querySelectorAll('a.row')).forEach(function (a) {
    var on = a.dataset.id === state.selected;
    a.classList.toggle('selected', on);
    if (on) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
  });
  if (!id) { $('detail').hidden = true; $('placeholder').hidden = false; return; }
  var res = await fetch('/sandbox/letters/' + encodeURIComponent(id), { cache: 'no-store' });
  if (state.selected !== id) return;
  if (!res.ok) {
    $('detail').hidden = true; $('placeholder').hidden = false;
    $('placeholder-text').textContent = 'That letter is not in the sandbox (any more).';
    return;
  }
  var l = await res.json();
  if (state.selected !== id) return;
  $('d-subject').textContent = l.subject || '(no title)';
  $('d-time').textContent = new Date(l.receivedAt).toLocaleString();
  $('d-time').title = l.receivedAt;
  $('d-patient').textContent = l.patientKey;
  $('d-provider').textContent = l.providerKey;
  $('d-location').textContent = l.practiceLocationKey;
  $('d-template').textContent = l.template || '—';
  $('d-approval').textContent = l.approvalId || '';
  $('d-approval-row').hidden = !l.approvalId;
  $('d-size').textContent = sizeText(l.size) + ' (' + l.size.toLocaleString() + ' bytes)';
  $('d-id').textContent = l.id;
  var raw = '/sandbox/letters/' + encodeURIComponent(id) + '/html';
  /** @type {HTMLIFrameElement} */ ($('frame')).src = raw;
  /** @type {HTMLAnchorElement} */ ($('raw')).href = raw;
  $('source').textContent = l.content;
  $('placeholder').hidden = true;
  $('detail').hidden = false;
  setView(state.view);
}
function setView(view) {
  state.view = view;
  $('tab-rendered').setAttribute('aria-selected', String(view === 'rendered'));
  $('tab-source').setAttribute('aria-selected', String(view === 'source'));
  $('frame').hidden = view !== 'rendered';
  $('source').hidden = view !== 'source';
}
$('tab-rendered').addEventListener('click', function () { setView('rendered'); });
$('tab-source').addEventListener('click', function () { setView('source'); });
window.addEventListener('hashchange', function () { select(location.hash.slice(1)); });

function move(step) {
  var rows = Array.from(/** @type {NodeListOf<HTMLAnchorElement>} */ (listEl.querySelectorAll('a.row')));
  if (rows.length === 0) return;
  var i = rows.findIndex(function (a) { return a.dataset.id === state.selected; });
  var next = rows[Math.max(0, Math.min(rows.length - 1, i < 0 ? 0 : i + step))];
  location.hash = /** @type {string} */ (next.dataset.id);
  next.scrollIntoView({ block: 'nearest' });
}
document.addEventListener('keydown', function (e) {
  var typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  if (e.key === '/' && !typing) { e.preventDefault(); filterEl.focus(); filterEl.select(); }
  else if (e.key === 'Escape' && e.target === filterEl) { filterEl.value = ''; filterEl.dispatchEvent(new Event('input')); }
  else if ((e.key === 'ArrowDown' || e.key === 'j') && (!typing || (e.target === filterEl && e.key === 'ArrowDown'))) { e.preventDefault(); move(1); }
  else if ((e.key === 'ArrowUp' || e.key === 'k') && (!typing || (e.target === filterEl && e.key === 'ArrowUp'))) { e.preventDefault(); move(-1); }
});

$('clear').addEventListener('click', async function () {
  if (!confirm('Delete all ' + plural(state.total, 'letter') + ' from the sandbox?')) return;
  await fetch('/sandbox/letters', { method: 'DELETE' });
  location.hash = '';
  tick();
});

