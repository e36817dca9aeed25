import { describe, expect, it } from 'vitest';
import { showName } from '../src/escape.js';

describe('showName', () => {
  it('escapes newlines, carriage returns and tabs so a name cannot start a forged line', () => {
    expect(showName('a\nwarning: forged\r\tb')).toBe('a\\nwarning: forged\\r\\tb');
  });
  it('escapes terminal escape sequences and other control characters', () => {
    expect(showName('x\u001b[31my\u0000\u007f\u0085')).toBe('x\\x1b[31my\\x00\\x7f\\x85');
  });
  it('escapes Unicode line separators and bidi overrides', () => {
    expect(showName('a\u2028b\u202ec')).toBe('a\\u2028b\\u202ec');
  });
  it('leaves ordinary names, spaces and non-Latin letters alone', () => {
    expect(showName('First Name — Müller 患者.csv')).toBe('First Name — Müller 患者.csv');
  });
});
