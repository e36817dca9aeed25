/**
 * The stylesheet of `<out>/index.html` (inlined into the page; no fonts or images from
 * anywhere). Letters are shown as US Letter pages: an 816×1056 px (8.5×11 in at 96 dpi)
 * frame scaled down for thumbnails and scaled to fit in the viewer.
 */

/** Width of a thumbnail page in CSS px; its height keeps the 8.5×11 aspect. */
export const THUMB_WIDTH = 248;

const SCALE = THUMB_WIDTH / 816;

export const PAGE_STYLE = `
:root {
  --ink: #1d2330; --muted: #5b6475; --line: #e1e5ec; --bg: #f3f5f9; --card: #fff; --accent: #2b5d8a;
  --ok: #1b7a3a; --ok-bg: #e6f4ea; --grey: #5b6475; --grey-bg: #eceff4; --bad: #b3261e; --bad-bg: #fdecea;
  --warn: #8a5a00; --warn-bg: #fff4d6;
  color-scheme: light;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { background: var(--bg); }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); }
a { color: var(--accent); }
button, input, select { font: inherit; color: inherit; }
.top { background: #fff; border-bottom: 1px solid var(--line); padding: 20px 28px 16px; }
.top h1 { margin: 0; font-size: 20px; font-weight: 650; letter-spacing: -.01em; }
.top h1 .file { font-weight: 500; color: var(--muted); }
.meta { margin: 4px 0 0; color: var(--muted); font-size: 13px; }
.meta a { margin-left: 2px; }
.notice { margin: 16px 28px 0; padding: 10px 14px; border-radius: 8px; border: 1px solid; font-size: 13px; }
.notice.refused { background: var(--bad-bg); border-color: #f3b8b2; color: #7d1a14; }
.notice.warnings { background: var(--warn-bg); border-color: #f1d48a; color: #5c3d00; }
.notice ul { margin: 4px 0 0; padding-left: 20px; }
.toolbar { position: sticky; top: 0; z-index: 5; display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: center;
  padding: 12px 28px; background: rgba(243, 245, 249, .94); backdrop-filter: blur(6px); border-bottom: 1px solid var(--line); }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { display: inline-flex; align-items: center; gap: 6px; padding: 4px 12px; border-radius: 999px; border: 1px solid var(--line);
  background: #fff; cursor: pointer; font-size: 13px; }
.chip:hover { border-color: #c3cad6; }
.chip[aria-pressed="true"] { background: var(--ink); border-color: var(--ink); color: #fff; }
.chip .n { font-variant-numeric: tabular-nums; color: var(--muted); }
.chip[aria-pressed="true"] .n { color: #c9d0dc; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: var(--grey); flex: none; }
.filters { display: flex; gap: 8px; margin-left: auto; }
.filters input, .filters select { height: 32px; padding: 0 10px; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
.filters input { width: 260px; }
.filters input:focus, .filters select:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
.shown { width: 100%; color: var(--muted); font-size: 12px; margin: -4px 0 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, ${THUMB_WIDTH + 26}px); gap: 20px; justify-content: center; padding: 24px 28px 40px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px; box-shadow: 0 1px 2px rgba(20, 30, 50, .05);
  border-top: 3px solid var(--c, var(--grey)); display: flex; flex-direction: column; gap: 10px; }
.thumb { position: relative; width: ${THUMB_WIDTH}px; aspect-ratio: 8.5 / 11; overflow: hidden; background: #fff; border-radius: 3px;
  box-shadow: 0 0 0 1px #dde2ea, 0 2px 6px rgba(20, 30, 50, .10); }
.thumb iframe { position: absolute; left: 0; top: 0; width: 816px; height: 1056px; border: 0; transform: scale(${SCALE.toFixed(5)});
  transform-origin: 0 0; pointer-events: none; background: #fff; }
.thumb .open { position: absolute; inset: 0; width: 100%; border: 0; background: transparent; cursor: zoom-in; border-radius: 3px; }
.thumb .open:hover { background: rgba(43, 93, 138, .06); }
.thumb .open:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.thumb.none { display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 8px; padding: 20px; text-align: center;
  background: repeating-linear-gradient(135deg, #fafbfc 0 10px, #f3f5f8 10px 20px); box-shadow: 0 0 0 1px #dde2ea; }
.thumb.none .big { font-weight: 650; color: var(--c); }
.thumb.none .big::first-letter { text-transform: uppercase; }
.thumb.none .why { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.head { display: flex; align-items: center; gap: 8px; }
.rowno { font-weight: 650; }
.badge { padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; color: var(--c); background: var(--cb); }
.tpl { margin-left: auto; font-size: 12px; color: var(--muted); max-width: 110px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.keys { margin: 0; display: grid; gap: 5px; }
.keys dt { font-size: 10px; line-height: 1.2; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.keys dd { margin: 0; font: 11px/1.3 ui-monospace, "SF Mono", Menlo, Consolas, monospace; letter-spacing: -.01em; overflow-wrap: anywhere; }
.msgs { margin: 0; padding: 0; list-style: none; display: grid; gap: 4px; font-size: 12px; }
.msgs li { padding: 4px 8px; border-radius: 6px; overflow-wrap: anywhere; }
.msgs .w { background: var(--warn-bg); color: #5c3d00; }
.msgs .e { background: var(--bad-bg); color: #7d1a14; }
.links { display: flex; gap: 12px; font-size: 12px; margin-top: auto; }
.links .pages { color: var(--warn); font-weight: 600; }
.empty { text-align: center; color: var(--muted); padding: 48px; }
.more { height: 1px; }
.s-previewed, .s-sent { --c: var(--ok); --cb: var(--ok-bg); }
.s-skipped { --c: var(--grey); --cb: var(--grey-bg); }
.s-invalid, .s-failed { --c: var(--bad); --cb: var(--bad-bg); }
.s-unknown, .s-not_attempted { --c: var(--warn); --cb: var(--warn-bg); }
.dot[class*="s-"] { background: var(--c, var(--ink)); }
.dot.s-all { background: #8a94a6; }
dialog.viewer { width: min(920px, calc(100vw - 32px)); height: calc(100vh - 32px); max-width: none; max-height: none; padding: 0; border: 0;
  border-radius: 12px; background: #e9ecf1; box-shadow: 0 20px 60px rgba(10, 20, 40, .35); overflow: hidden; }
dialog.viewer[open] { display: flex; flex-direction: column; }
dialog.viewer::backdrop { background: rgba(18, 24, 36, .62); }
.vbar { display: flex; align-items: center; gap: 10px; padding: 10px 14px; background: #fff; border-bottom: 1px solid var(--line); }
.vbar .vtitle { font-weight: 650; white-space: nowrap; }
.vbar .vkey { font: 12px ui-monospace, Menlo, Consolas, monospace; color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
.vbar .sp { flex: 1; }
.vbar a, .vbar button { height: 30px; display: inline-flex; align-items: center; padding: 0 12px; border-radius: 8px; border: 1px solid var(--line);
  background: #fff; text-decoration: none; color: var(--ink); cursor: pointer; white-space: nowrap; font-size: 13px; }
.vbar a:hover, .vbar button:hover { border-color: #c3cad6; }
.vbar button:disabled { opacity: .4; cursor: default; }
.vbar .close { font-size: 18px; padding: 0 10px; }
.vbody { flex: 1; overflow: auto; padding: 24px; }
.sheet { margin: 0 auto; background: #fff; box-shadow: 0 2px 12px rgba(20, 30, 50, .18); overflow: hidden; position: relative; }
.sheet iframe { position: absolute; left: 0; top: 0; width: 816px; height: 1056px; border: 0; transform-origin: 0 0; }
@media (max-width: 720px) {
  .filters { margin-left: 0; width: 100%; } .filters input { flex: 1; width: auto; } .top, .toolbar { padding-left: 16px; padding-right: 16px; }
  .vbar { flex-wrap: wrap; } .vbar .vkey { display: none; } .vbody { padding: 12px; }
}
`;
