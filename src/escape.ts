/**
 * One escaping function for every name from outside (a file, folder, template or column name,
 * a cell) that reaches a message: control characters and the line and paragraph separators
 * are shown escaped (`\n`, `\x1b`, `\u2028`), so no line of output can be forged and no
 * terminal sequence can run.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `name` with every control, line-separator and bidi-override character escaped. */
export function showName(name: string): string {
  return name.replace(UNSAFE, escapeChar);
}
