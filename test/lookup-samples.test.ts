/** The sample data for keys-only letters: the sandbox directory, keys-only.csv and its template. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { LOOKUP_FIELDS, locationFields, patientFields, practitionerFields } from '../src/lookup/index.js';
import { TemplateSet } from '../src/templates/index.js';

const ROOT = join(import.meta.dirname, '..');
type Directory = Record<'Patient' | 'Practitioner' | 'Location', Record<string, Record<string, unknown>>>;
const directory = JSON.parse(readFileSync(join(ROOT, 'samples', 'sandbox-directory.json'), 'utf8')) as Directory;
const csv = (name: string) => parse<Record<string, string>>(readFileSync(join(ROOT, 'samples', name)), { columns: true, bom: true });

describe('samples/sandbox-directory.json', () => {
  it('holds FHIR resources under their own ids', () => {
    for (const [type, byKey] of Object.entries(directory)) {
      for (const [key, resource] of Object.entries(byKey)) expect(resource, key).toMatchObject({ resourceType: type, id: key });
    }
  });

  it('knows every key of the sample CSVs, with the same names, dates and practice details', () => {
    for (const file of ['jury-duty.csv', 'school-note.csv']) {
      for (const row of csv(file)) {
        const patient = patientFields(directory.Patient[row.patientKey!]);
        expect(patient['patient.birthDate'], file).toBe(row.dateOfBirth);
        const name = (row.patientName ?? row.studentName)!;
        expect(name.replace(/ "[^"]+"/, ''), file).toContain(patient['patient.lastName']);
        expect(practitionerFields(directory.Practitioner[row.providerKey!])).toEqual({
          'provider.fullName': row.providerName, 'provider.credentials': row.providerCredentials,
        });
        expect(locationFields(directory.Location[row.practiceLocationKey!])).toEqual({
          'location.name': row.practiceName, 'location.address': row.practiceAddress, 'location.phone': row.practicePhone,
        });
      }
    }
  });

  it('knows every key of keys-only.csv, whose patients have a full name and a birth date', () => {
    const rows = csv('keys-only.csv');
    expect(Object.keys(rows[0]!)).toEqual(['patientKey', 'providerKey', 'practiceLocationKey']);
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const row of rows) {
      expect(patientFields(directory.Patient[row.patientKey!])).toMatchObject({ 'patient.fullName': expect.any(String), 'patient.birthDate': expect.any(String) });
      expect(directory.Practitioner[row.providerKey!]).toBeDefined();
      expect(directory.Location[row.practiceLocationKey!]).toBeDefined();
    }
  });
});

describe('templates/patient-verification.hbs', () => {
  it('uses only lookup fields, the optional ones under #if', () => {
    const fields = TemplateSet.load(join(ROOT, 'templates')).get('patient-verification').fields;
    expect(fields.all.every((f) => LOOKUP_FIELDS.includes(f))).toBe(true);
    expect(fields.required).toEqual(['location.name', 'patient.birthDate', 'patient.fullName', 'provider.fullName']);
    expect(fields.optional).toEqual(['location.address', 'location.phone', 'patient.address', 'provider.credentials']);
  });
});
