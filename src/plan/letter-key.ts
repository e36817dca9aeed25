/**
 * A letter's identity: the hash of its template name, its three Canvas keys and the values
 * of the merge fields its template uses. Two rows with the same key make the same letter;
 * the ledger uses it to send each letter once, across runs and files.
 */
import { createHash } from 'node:crypto';
import { KEY_FIELDS, ownValue, type Keys } from '../types.js';

const KEY_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

/** Canvas keys are letters, digits and `-`, at most 64 characters. */
export function isWellFormedKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/**
 * Hash of (template, keys, used field values). `fields` must be the template's field list
 * (sorted, as TemplateFields.all is); values are `data`'s own ones, missing (or inherited) ones count as "".
 */
export function letterKey(
  template: string,
  keys: Keys,
  fields: readonly string[],
  data: Readonly<Record<string, string>>,
): string {
  const hash = createHash('sha256');
  // JSON framing keeps ("ab","c") and ("a","bc") apart.
  hash.update(JSON.stringify(['canvas-letters/1', template, ...KEY_FIELDS.map((k) => keys[k])]));
  for (const field of fields) hash.update(JSON.stringify([field, ownValue(data, field)]));
  return hash.digest('hex');
}

/**
 * The signature of a template's merge fields (its sorted field list): which values its letter keys
 * hash. The ledger records it with each letter, so that a later run can tell a template whose
 * fields were edited (every row gets a new letter key) from rows whose values changed.
 */
export function fieldsSignature(fields: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(['canvas-letters/fields/1', ...fields])).digest('hex');
}
