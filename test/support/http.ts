/** Shared by the HTTP client tests: the HttpFailure a request ends with. */
import { expect } from 'vitest';
import { HttpFailure } from '../../src/canvas/http.js';

/** The HttpFailure `p` rejects with (fails the test when it resolves or rejects with anything else). */
export async function failure(p: Promise<unknown>): Promise<HttpFailure> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(HttpFailure);
  return e as HttpFailure;
}
