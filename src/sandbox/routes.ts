/**
 * Every endpoint of the sandbox, in one table: [method, path pattern, handler], matched in order
 * (router.ts explains patterns and `*`). A path listed here asked with another method gets 405
 * naming the methods listed for it; a path not listed gets 404.
 */
import type { ControlResource } from './control.js';
import type { FhirResource } from './fhir.js';
import type { InboxResource } from './inbox.js';
import type { LetterResource } from './letter.js';
import type { Route } from './router.js';
import type { TokenResource } from './token.js';

export const TOKEN_PATH = '/auth/token/';
export const LETTER_PATH = '/core/api/letter/v1/Letter';

export interface Resources {
  token: TokenResource;
  letter: LetterResource;
  fhir: FhirResource;
  inbox: InboxResource;
  control: ControlResource;
}

export function sandboxRoutes({ token, letter, fhir, inbox, control }: Resources): Route[] {
  return [
    // Canvas: OAuth client-credentials token (token.ts) and Letter create (letter.ts)
    ['POST', '/auth/token/?', token.issue],
    ['*', '/auth/token/?', token.refuseMethod],
    ['POST', '/core/api/letter/v1/Letter/?', letter.create],
    ['*', '/core/api/letter/v1/Letter/?', letter.refuseMethod],

    // Canvas FHIR R4 reads (fhir.ts)
    ['GET', '/{type:Patient|Practitioner|Location}/{id}/?', fhir.read],

    // The web inbox and its letters (inbox.ts)
    ['GET', '/', inbox.page],
    ['HEAD', '/', inbox.page],
    ['GET', '/index.html', inbox.page],
    ['HEAD', '/index.html', inbox.page],
    ['GET', '/sandbox/letters', inbox.list],
    ['HEAD', '/sandbox/letters', inbox.list],
    ['DELETE', '/sandbox/letters', inbox.clear],
    ['GET', '/sandbox/letters/{id}', inbox.letter],
    ['HEAD', '/sandbox/letters/{id}', inbox.letter],
    ['GET', '/sandbox/letters/{id}/html', inbox.letterHtml],
    ['HEAD', '/sandbox/letters/{id}/html', inbox.letterHtml],

    // The control API (control.ts)
    ['GET', '/sandbox/stats', control.stats],
    ['GET', '/sandbox/faults', control.faults],
    ['PUT', '/sandbox/faults', control.setFaults],
    ['POST', '/sandbox/script', control.script],
    ['POST', '/sandbox/fhir-script', control.scriptFhir],
    ['POST', '/sandbox/revoke-tokens', control.revokeTokens],
    ['POST', '/sandbox/reset', control.reset],
  ];
}
