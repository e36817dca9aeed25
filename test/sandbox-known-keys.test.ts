/**
 * The sandbox with known keys (`knownKeys`, `canvas-letters sandbox --known-keys`): a letter for a
 * patient, provider or location its FHIR directory does not know is answered 422 with an
 * OperationOutcome naming the key field and the key, as Canvas answers unknown references, and is
 * not stored. Port 0, 127.0.0.1 only, in this process.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LETTER_PATH, SandboxDirectoryError, TOKEN_PATH, type Sandbox } from '../src/sandbox/index.js';
import { runCli, tempDir } from './support/cli.js';
import { trackedSandboxes } from './support/sandbox.js';

// Keys of the bundled samples/sandbox-directory.json.
const PATIENT = '86b2adc6ddb9b219ddc2c9e73074efba';
const PROVIDER = '312615f7e9f0be9e83548ccf420c766e';
const LOCATION = '9ac29f61-fa25-44f3-b1c2-79f27f4a0f57';
const UNKNOWN = 'ffffeeeeddddccccbbbbaaaa99998888';
const KNOWN = { patientKey: PATIENT, providerKey: PROVIDER, practiceLocationKey: LOCATION, content: '<p>Dear Ann</p>' };
const sandbox = trackedSandboxes();

async function post(sb: Sandbox, letter: Record<string, string>): Promise<Response> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'sandbox-client', client_secret: 'sandbox-secret' });
  const tokenRes = await fetch(sb.url + TOKEN_PATH, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  const { access_token } = (await tokenRes.json()) as { access_token: string };
  return fetch(sb.url + LETTER_PATH, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${access_token}` }, body: JSON.stringify(letter) });
}

async function issues(res: Response): Promise<string[]> {
  const body = (await res.json()) as { resourceType: string; issue: { severity: string; code: string; details: { text: string } }[] };
  expect(body.resourceType).toBe('OperationOutcome');
  for (const i of body.issue) expect(i).toMatchObject({ severity: 'error', code: 'not-found' });
  return body.issue.map((i) => i.details.text);
}

describe('sandbox with known keys', () => {
  it('creates a letter whose three keys are in the directory (201)', async () => {
    const sb = await sandbox({ knownKeys: true });
    const res = await post(sb, KNOWN);
    expect(res.status).toBe(201);
    expect(sb.letters.map((l) => l.patientKey)).toEqual([PATIENT]);
  });

  it('answers an unknown patient, provider or location with 422 naming the field and the key, and stores nothing', async () => {
    const store = join(tempDir('cl-known-'), 'store');
    const sb = await sandbox({ knownKeys: true, store });
    const cases = [
      ['patientKey', `patientKey ${UNKNOWN}: no such patient`],
      ['providerKey', `providerKey ${UNKNOWN}: no such provider`],
      ['practiceLocationKey', `practiceLocationKey ${UNKNOWN}: no such practice location`],
    ] as const;
    for (const [field, text] of cases) {
      const res = await post(sb, { ...KNOWN, [field]: UNKNOWN });
      expect(res.status, field).toBe(422);
      expect(await issues(res)).toEqual([text]);
    }
    expect(sb.letters).toEqual([]);
    expect(readdirSync(store)).toEqual([]);
    expect(sb.stats().outcomes['422']).toBe(3);
    expect(sb.stats().outcomes.ok).toBe(0);
  });

  it('names every unknown key of one letter, one issue each', async () => {
    const sb = await sandbox({ knownKeys: true });
    const res = await post(sb, { ...KNOWN, patientKey: UNKNOWN, practiceLocationKey: 'nowhere-1' });
    expect(res.status).toBe(422);
    expect(await issues(res)).toEqual([`patientKey ${UNKNOWN}: no such patient`, 'practiceLocationKey nowhere-1: no such practice location']);
  });

  it('checks against the directory it was given', async () => {
    const sb = await sandbox({ knownKeys: true, directory: { Patient: { p1: { resourceType: 'Patient' } }, Practitioner: { d1: { resourceType: 'Practitioner' } }, Location: { l1: { resourceType: 'Location' } } } });
    expect((await post(sb, { ...KNOWN, patientKey: 'p1', providerKey: 'd1', practiceLocationKey: 'l1' })).status).toBe(201);
    expect((await post(sb, KNOWN)).status).toBe(422); // the bundled keys are not in this one
  });

  it('is off by default: any keys are accepted, as before', async () => {
    const sb = await sandbox();
    expect((await post(sb, { ...KNOWN, patientKey: UNKNOWN, providerKey: UNKNOWN, practiceLocationKey: UNKNOWN })).status).toBe(201);
    expect(sb.letters).toHaveLength(1);
  });

  it('needs a directory: knownKeys with directory false throws before listening', async () => {
    await expect(sandbox({ knownKeys: true, directory: false })).rejects.toThrow(SandboxDirectoryError);
  });

  it('canvas-letters sandbox --known-keys --no-directory is a usage error (exit 2)', () => {
    const r = runCli(['sandbox', '--port', '0', '--known-keys', '--no-directory']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--known-keys checks letter keys against the directory, and --no-directory turns it off');
  });
});
