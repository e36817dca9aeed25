/**
 * A small HTML tokenizer that follows the tokenizing rules of htmlparser2 (the parser juice
 * uses through cheerio, HTML mode, entities left alone) closely enough to say, for any offset
 * of a template, whether it lies in text, in a quoted attribute value, inside a tag, in raw text
 * (script, style, title, textarea) or in a comment or declaration.
 *
 * It is used on the template source with placeholders in place of its Handlebars statements.
 * Wherever it could disagree with htmlparser2, `sameShape` notices: it compares the tokens of a
 * document with the tokens of juice's serialisation of it, so any repair the real parser made
 * (an implied end tag, a dropped attribute, an unclosed element) shows up as a difference.
 */

export interface HtmlAttr {
  /** Lower-cased. */
  name: string;
  value: string;
  /** Quote character, or '' for an unquoted or bare attribute. */
  quote: string;
  /** Offsets of the value (inside its quotes). */
  valueStart: number;
  valueEnd: number;
}

export type HtmlEvent =
  | { type: 'text'; start: number; end: number }
  | { type: 'start'; name: string; attrs: HtmlAttr[]; selfClosing: boolean; start: number; end: number }
  | { type: 'end'; name: string; start: number; end: number }
  /** Content of script, style, title or textarea: no tags inside. */
  | { type: 'raw'; name: string; start: number; end: number }
  /** Comment, doctype, other `<!...>` or `<?...>`. */
  | { type: 'other'; start: number; end: number };

/** Elements without content or end tag (htmlparser2's list). */
export const VOID_ELEMENTS: ReadonlySet<string> = new Set([
  'area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'img', 'input',
  'isindex', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr',
]);

/** Elements whose content htmlparser2 reads as text up to their end tag. */
export const RAW_TEXT_ELEMENTS: ReadonlySet<string> = new Set(['script', 'style', 'title', 'textarea']);

const isAlpha = (c: string | undefined) => c !== undefined && /^[A-Za-z]$/.test(c);
const isSpace = (c: string | undefined) => c !== undefined && /^[ \t\n\r\f]$/.test(c);
const endsName = (c: string | undefined) => c === undefined || c === '/' || c === '>' || isSpace(c);

/** Tokens of `html` in order, or undefined where it cannot be read with certainty (unterminated tag). */
export function scanHtml(html: string): HtmlEvent[] | undefined {
  const events: HtmlEvent[] = [];
  const n = html.length;
  let text = 0; // start of the pending text
  let i = 0;
  const flush = (to: number) => {
    if (to > text) events.push({ type: 'text', start: text, end: to });
  };
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt === -1) break;
    const next = html[lt + 1];
    let end: number | undefined;
    if (isAlpha(next)) {
      flush(lt);
      const tag = startTag(html, lt);
      if (!tag) return undefined;
      events.push(tag);
      end = tag.end;
      if (RAW_TEXT_ELEMENTS.has(tag.name) && !tag.selfClosing) {
        const close = html.toLowerCase().indexOf(`</${tag.name}`, end);
        if (close === -1 || !endsName(html[close + 2 + tag.name.length])) return undefined;
        if (close > end) events.push({ type: 'raw', name: tag.name, start: end, end: close });
        const gt = html.indexOf('>', close);
        if (gt === -1) return undefined;
        events.push({ type: 'end', name: tag.name, start: close, end: gt + 1 });
        end = gt + 1;
      }
    } else if (next === '/' && isAlpha(html[lt + 2])) {
      flush(lt);
      let j = lt + 2;
      while (!endsName(html[j])) j++;
      const gt = html.indexOf('>', j);
      if (gt === -1) return undefined;
      events.push({ type: 'end', name: html.slice(lt + 2, j).toLowerCase(), start: lt, end: gt + 1 });
      end = gt + 1;
    } else if (next === '!' || next === '?' || next === '/') {
      flush(lt);
      const close = html.startsWith('<!--', lt) ? html.indexOf('-->', lt + 4) : html.indexOf('>', lt + 2);
      if (close === -1) return undefined;
      end = close + (html.startsWith('<!--', lt) ? 3 : 1);
      events.push({ type: 'other', start: lt, end });
    }
    if (end === undefined) {
      i = lt + 1; // a "<" that starts no tag is text
    } else {
      i = end;
      text = end;
    }
  }
  flush(n);
  return events;
}

function startTag(html: string, lt: number): Extract<HtmlEvent, { type: 'start' }> | undefined {
  let j = lt + 1;
  while (!endsName(html[j])) j++;
  const name = html.slice(lt + 1, j).toLowerCase();
  const attrs: HtmlAttr[] = [];
  let selfClosing = false;
  for (;;) {
    while (isSpace(html[j]) || (html[j] === '/' && html[j + 1] !== '>')) j++;
    if (j >= html.length) return undefined;
    if (html[j] === '/' && html[j + 1] === '>') {
      selfClosing = true;
      j++;
    }
    if (html[j] === '>') return { type: 'start', name, attrs, selfClosing, start: lt, end: j + 1 };
    const nameStart = j;
    do j++; // the first character may be "=", as in htmlparser2
    while (!endsName(html[j]) && html[j] !== '=');
    const attrName = html.slice(nameStart, j).toLowerCase();
    while (isSpace(html[j])) j++;
    if (html[j] !== '=') {
      attrs.push({ name: attrName, value: '', quote: '', valueStart: j, valueEnd: j });
      continue;
    }
    j++;
    while (isSpace(html[j])) j++;
    const quote = html[j] === '"' || html[j] === "'" ? html[j]! : '';
    const valueStart = quote ? j + 1 : j;
    let valueEnd: number;
    if (quote) {
      valueEnd = html.indexOf(quote, valueStart);
      if (valueEnd === -1) return undefined;
      j = valueEnd + 1;
    } else {
      while (j < html.length && html[j] !== '>' && !isSpace(html[j])) j++;
      valueEnd = j;
    }
    attrs.push({ name: attrName, value: html.slice(valueStart, valueEnd), quote, valueStart, valueEnd });
  }
}

/**
 * The document as a list of comparable tokens, leaving out what inlining is meant to change:
 * `<style>` elements and `style` attributes. Adjacent text is joined.
 */
function shape(html: string, events: HtmlEvent[]): string[] {
  const out: string[] = [];
  let inStyle = false;
  let pendingText = '';
  const push = (token: string) => {
    if (pendingText) out.push(`#${pendingText}`);
    pendingText = '';
    out.push(token);
  };
  for (const e of events) {
    if (e.type === 'start' && e.name === 'style') inStyle = true;
    if (inStyle) {
      if (e.type === 'end' && e.name === 'style') inStyle = false;
      continue;
    }
    if (e.type === 'text' || e.type === 'raw') pendingText += html.slice(e.start, e.end);
    else if (e.type === 'start') {
      const attrs = e.attrs
        .filter((a) => a.name !== 'style')
        .map((a) => ` ${a.name}=${JSON.stringify(a.value.replaceAll('&quot;', '"'))}`);
      push(`<${e.name}${attrs.join('')}>`);
    } else if (e.type === 'end') push(`</${e.name}>`);
    else push(`!${html.slice(e.start, e.end)}`);
  }
  if (pendingText) out.push(`#${pendingText}`);
  return out;
}

/** True when `after` (juice's output for `before`) has the same elements, attributes and text. */
export function sameShape(before: string, after: string): boolean {
  const a = scanHtml(before);
  const b = scanHtml(after);
  if (!a || !b) return false;
  const x = shape(before, a);
  const y = shape(after, b);
  return x.length === y.length && x.every((token, k) => token === y[k]);
}
