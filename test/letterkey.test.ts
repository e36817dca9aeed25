import { describe, expect, it } from 'vitest';
import { isWellFormedKey, letterKey } from '../src/plan/letter-key.js';

const keys = { patientKey: 'p1', providerKey: 'v1', practiceLocationKey: 'l1' };

describe('letterKey', () => {
  it('is the same for the same template, keys and used values', () => {
    const a = letterKey('t', keys, ['name'], { name: 'Ann', other: 'x' });
    const b = letterKey('t', keys, ['name'], { name: 'Ann', other: 'y' });
    expect(a).toBe(b);
  });

  it('changes with the template, any key or any used value', () => {
    const base = letterKey('t', keys, ['name'], { name: 'Ann' });
    expect(letterKey('u', keys, ['name'], { name: 'Ann' })).not.toBe(base);
    expect(letterKey('t', { ...keys, providerKey: 'v2' }, ['name'], { name: 'Ann' })).not.toBe(base);
    expect(letterKey('t', keys, ['name'], { name: 'Anne' })).not.toBe(base);
  });

  it('keeps field boundaries apart', () => {
    expect(letterKey('t', keys, ['a', 'b'], { a: 'xy', b: 'z' })).not.toBe(letterKey('t', keys, ['a', 'b'], { a: 'x', b: 'yz' }));
  });
});

describe('isWellFormedKey', () => {
  it('accepts letters, digits and dashes up to 64 characters', () => {
    expect(isWellFormedKey('a1b2-C3')).toBe(true);
    expect(isWellFormedKey('x'.repeat(64))).toBe(true);
  });

  it('refuses empty, too long, spaces and other characters', () => {
    for (const bad of ['', 'x'.repeat(65), 'a b', 'a_b', 'a/b', 'é']) expect(isWellFormedKey(bad)).toBe(false);
  });
});
