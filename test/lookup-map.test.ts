/** FHIR resources → merge fields, and where the FHIR API is (fhirBaseUrl). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CanvasConfig } from '../src/canvas/index.js';
import { ConfigError } from '../src/errors.js';
import { LOOKUP_FIELDS, LOOKUP_FIELDS_BY_KEY, fhirBaseUrl, locationFields, patientFields, practitionerFields } from '../src/lookup/index.js';

describe('LOOKUP_FIELDS', () => {
  it('lists exactly the fields the lookup provides, grouped by key', () => {
    expect(LOOKUP_FIELDS).toEqual([
      'patient.firstName', 'patient.lastName', 'patient.fullName', 'patient.birthDate', 'patient.address',
      'provider.fullName', 'provider.credentials', 'location.name', 'location.address', 'location.phone',
    ]);
    expect(Object.values(LOOKUP_FIELDS_BY_KEY).flat().sort()).toEqual([...LOOKUP_FIELDS].sort());
  });
});

describe('patientFields', () => {
  it('maps the official name, birth date and home address', () => {
    expect(patientFields({
      resourceType: 'Patient',
      name: [
        { use: 'nickname', given: ['Bobby'] },
        { use: 'usual', family: 'Tables', given: ['Bob'] },
        { use: 'official', family: 'Tables', given: ['Robert', 'Allen'], prefix: ['Mr.'] },
      ],
      birthDate: '1966-05-17',
      address: [
        { use: 'work', line: ['1 Office Park'], city: 'Eugene', state: 'OR', postalCode: '97401' },
        { use: 'home', line: ['1450 Alder Street', 'Suite 210'], city: 'Springfield', state: 'OR', postalCode: '97477', country: 'US' },
      ],
    })).toEqual({
      'patient.firstName': 'Robert',
      'patient.lastName': 'Tables',
      'patient.fullName': 'Robert Allen Tables',
      'patient.birthDate': '1966-05-17',
      'patient.address': '1450 Alder Street, Suite 210, Springfield, OR 97477',
    });
  });

  it('falls back to the usual name, then to the first current one; skips old names', () => {
    const usual = patientFields({ name: [{ use: 'nickname', given: ['EJ'] }, { use: 'usual', family: 'Johnson', given: ['Ethan'] }] });
    expect(usual['patient.fullName']).toBe('Ethan Johnson');
    const first = patientFields({ name: [{ use: 'old', family: 'Schmidt', given: ['Hannah'] }, { family: 'Schmidt-Weber', given: ['Hannah'] }] });
    expect(first['patient.lastName']).toBe('Schmidt-Weber');
    const ended = patientFields({ name: [{ use: 'official', family: 'Haddad', given: ['Fatima'], period: { end: '2015-06-20' } }, { use: 'official', family: 'Al-Sayed', given: ['Fatima'] }] });
    expect(ended['patient.lastName']).toBe('Al-Sayed');
  });

  it('uses name.text as the full name, and keeps suffixes after a comma', () => {
    const text = patientFields({ name: [{ use: 'official', text: '  Nguyễn   Thị Mai ', family: 'Nguyễn', given: ['Thị', 'Mai'] }] });
    expect(text).toMatchObject({ 'patient.fullName': 'Nguyễn Thị Mai', 'patient.firstName': 'Thị', 'patient.lastName': 'Nguyễn' });
    const jr = patientFields({ name: [{ use: 'official', family: 'Washington', given: ['Marcus'], suffix: ['Jr.'], prefix: ['Mr.'] }] });
    expect(jr['patient.fullName']).toBe('Marcus Washington, Jr.');
  });

  it('uses address.text, skips old and ended addresses, and takes the first when none is home', () => {
    expect(patientFields({ address: [{ use: 'home', text: 'c/o Family, 2190 Game Farm Road, Springfield, OR 97477', line: ['ignored'] }] })['patient.address'])
      .toBe('c/o Family, 2190 Game Farm Road, Springfield, OR 97477');
    const moved = patientFields({
      address: [
        { use: 'old', line: ['77 West 10th Avenue'], city: 'Eugene' },
        { use: 'home', line: ['5 Past Lane'], city: 'Eugene', period: { end: '2020-01-01' } },
        { use: 'temp', line: ['12 Oak Street'], city: 'Eugene', state: 'OR' },
      ],
    });
    expect(moved['patient.address']).toBe('12 Oak Street, Eugene, OR');
  });

  it('leaves missing pieces out instead of writing empty strings', () => {
    expect(patientFields({ resourceType: 'Patient', name: [{ given: ['Cher'] }], birthDate: '  ', address: [{ use: 'home', line: [''] }] }))
      .toEqual({ 'patient.firstName': 'Cher', 'patient.fullName': 'Cher' });
    expect(patientFields({ resourceType: 'Patient' })).toEqual({});
    expect(patientFields(null)).toEqual({});
    expect(patientFields({ name: 'not an array', address: 42 })).toEqual({});
  });
});

describe('practitionerFields', () => {
  it('takes credentials from the name suffix; prefix and credentials stay out of the full name', () => {
    expect(practitionerFields({
      resourceType: 'Practitioner',
      name: [{ use: 'official', family: 'Raman', given: ['Priya'], prefix: ['Dr.'], suffix: ['MD', 'MPH'] }],
      qualification: [{ code: { text: 'ignored' } }],
    })).toEqual({ 'provider.fullName': 'Priya Raman', 'provider.credentials': 'MD, MPH' });
  });

  it('keeps a generational suffix in the name, not in the credentials', () => {
    expect(practitionerFields({ name: [{ family: 'Okafor', given: ['Samuel'], suffix: ['Jr.', 'DO'] }] }))
      .toEqual({ 'provider.fullName': 'Samuel Okafor, Jr.', 'provider.credentials': 'DO' });
  });

  it('falls back to qualification code text, then coding display or code', () => {
    expect(practitionerFields({
      name: [{ use: 'usual', given: ['Sam'], family: 'Okafor' }, { use: 'official', given: ['Samuel'], family: 'Okafor' }],
      qualification: [
        { code: { text: 'DO', coding: [{ code: 'x' }] } },
        { code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0360', code: 'MS', display: 'Master of Science' }] } },
        { code: { coding: [{ code: 'RN' }] } },
        { code: { text: 'DO' } },
        { issuer: {} },
      ],
    })).toEqual({ 'provider.fullName': 'Samuel Okafor', 'provider.credentials': 'DO, Master of Science, RN' });
    expect(practitionerFields({ name: [{ text: 'Elena Vásquez', suffix: ['MD'] }] }))
      .toEqual({ 'provider.fullName': 'Elena Vásquez', 'provider.credentials': 'MD' });
    expect(practitionerFields({ name: [{ family: 'Solo' }] })).toEqual({ 'provider.fullName': 'Solo' });
  });
});

describe('locationFields', () => {
  it('maps name, address (a single object) and the work phone', () => {
    expect(locationFields({
      resourceType: 'Location',
      name: 'Maple Grove Family Medicine',
      address: { use: 'work', line: ['88 Riverside Drive'], city: 'Eugene', state: 'OR', postalCode: '97401', country: 'US' },
      telecom: [
        { system: 'fax', value: '(541) 555-0143', use: 'work' },
        { system: 'phone', value: '(541) 555-0100', use: 'mobile' },
        { system: 'phone', value: '(541) 555-0187', use: 'work' },
      ],
    })).toEqual({
      'location.name': 'Maple Grove Family Medicine',
      'location.address': '88 Riverside Drive, Eugene, OR 97401',
      'location.phone': '(541) 555-0187',
    });
  });

  it('takes any current phone when none is for work, and address text', () => {
    expect(locationFields({
      name: 'Clinic',
      address: { text: 'Building 4, Riverside Campus' },
      telecom: [{ system: 'phone', value: '555-0000', use: 'old' }, { system: 'email', value: 'a@b.example' }, { system: 'phone', value: ' 555-0101 ' }],
    })).toEqual({ 'location.name': 'Clinic', 'location.address': 'Building 4, Riverside Campus', 'location.phone': '555-0101' });
    expect(locationFields({ name: 'Clinic', telecom: [{ system: 'fax', value: '555-0102' }] })).toEqual({ 'location.name': 'Clinic' });
  });
});

describe('fhirBaseUrl', () => {
  const config = (base: string): CanvasConfig => ({ baseUrl: new URL(base), credentials: { kind: 'token', accessToken: 'tok' } });
  const empty = mkdtempSync(join(tmpdir(), 'lookup-env-'));
  const opts = (env: NodeJS.ProcessEnv = {}) => ({ env, cwd: empty });

  it('derives fumage-<instance> from an instance address', () => {
    expect(fhirBaseUrl(config('https://maplegrove.canvasmedical.com/'), opts()).href).toBe('https://fumage-maplegrove.canvasmedical.com/');
    expect(fhirBaseUrl(config('https://MapleGrove-Staging.canvasmedical.com/some/path/'), opts()).href).toBe('https://fumage-maplegrove-staging.canvasmedical.com/');
    expect(fhirBaseUrl(config('https://fumage-maplegrove.canvasmedical.com/'), opts()).href).toBe('https://fumage-maplegrove.canvasmedical.com/');
  });

  it('uses a loopback base URL as it is (local sandbox)', () => {
    expect(fhirBaseUrl(config('http://127.0.0.1:8123/'), opts()).href).toBe('http://127.0.0.1:8123/');
    expect(fhirBaseUrl(config('http://localhost:9000/canvas/'), opts()).href).toBe('http://localhost:9000/canvas/');
  });

  it('prefers CANVAS_FHIR_BASE_URL, from the environment or .env, and adds the final slash', () => {
    const env = { CANVAS_FHIR_BASE_URL: ' https://fhir.example.org/r4 ' };
    expect(fhirBaseUrl(config('https://example.org/'), opts(env)).href).toBe('https://fhir.example.org/r4/');
    expect(fhirBaseUrl(config('https://x.canvasmedical.com/'), opts({ CANVAS_FHIR_BASE_URL: 'http://[::1]:8080' })).href).toBe('http://[::1]:8080/');
    const dir = mkdtempSync(join(tmpdir(), 'lookup-env-'));
    try {
      writeFileSync(join(dir, '.env'), 'CANVAS_FHIR_BASE_URL=https://fhir.example.net/base\n');
      expect(fhirBaseUrl(config('https://example.org/'), { env: {}, cwd: dir }).href).toBe('https://fhir.example.net/base/');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses http for a host that is not this machine, and bad URLs, without echoing them', () => {
    const secretish = 'http://user-abc123.example.org/';
    expect(() => fhirBaseUrl(config('https://x.canvasmedical.com/'), opts({ CANVAS_FHIR_BASE_URL: secretish }))).toThrow(ConfigError);
    try {
      fhirBaseUrl(config('https://x.canvasmedical.com/'), opts({ CANVAS_FHIR_BASE_URL: secretish }));
    } catch (error) {
      expect((error as Error).message).toMatch(/CANVAS_FHIR_BASE_URL uses http:/);
      expect((error as Error).message).not.toContain('abc123');
    }
    expect(() => fhirBaseUrl(config('https://x.canvasmedical.com/'), opts({ CANVAS_FHIR_BASE_URL: 'not a url' }))).toThrow(/not a valid URL/);
    expect(() => fhirBaseUrl(config('https://x.canvasmedical.com/'), opts({ CANVAS_FHIR_BASE_URL: 'https://h.example/?q=1' }))).toThrow(/query/);
  });

  it('asks for CANVAS_FHIR_BASE_URL when the host is not an instance address', () => {
    for (const base of ['https://ehr.example.org/', 'https://a.b.canvasmedical.com/', 'https://canvasmedical.com.evil.example/']) {
      expect(() => fhirBaseUrl(config(base), opts())).toThrow(ConfigError);
      expect(() => fhirBaseUrl(config(base), opts())).toThrow(/set CANVAS_FHIR_BASE_URL/);
    }
  });
});
