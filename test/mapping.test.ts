import { describe, expect, it } from 'vitest';
import { RowMapper, parseMapOptions } from '../src/input/mapping.js';
import { UsageError } from '../src/errors.js';

const headers = ['Patient ID', 'providerKey', 'practiceLocationKey', 'name', 'template'];
const row = (values: string[]) => ({ row: 1, values });

describe('parseMapOptions', () => {
  it('reads field=column pairs, keeping spaces inside the column name', () => {
    expect(parseMapOptions(['patientKey=Patient ID', 'patientName = name'])).toEqual({
      patientKey: 'Patient ID',
      patientName: 'name',
    });
  });

  it('refuses a pair without = or with an empty side', () => {
    for (const bad of ['patientKey', '=col', 'field=']) expect(() => parseMapOptions([bad])).toThrow(UsageError);
  });

  it('refuses the same field mapped twice', () => {
    expect(() => parseMapOptions(['a=x', 'a=y'])).toThrow(/given twice/);
  });
});

describe('RowMapper', () => {
  it('reads a mapped field from its column and keeps the column under its own name', () => {
    const m = new RowMapper(headers, { map: { patientKey: 'Patient ID' } });
    const data = m.data(row(['p1', 'v1', 'l1', 'Ann', '']));
    expect(data.patientKey).toBe('p1');
    expect(data['Patient ID']).toBe('p1');
    expect(m.columnOf('patientKey')).toBe('Patient ID');
  });

  it('refuses a --map to a column the CSV does not have, listing the columns', () => {
    expect(() => new RowMapper(headers, { map: { patientKey: 'PID' } }, 'x.csv')).toThrow(/x.csv has no column "PID".*Patient ID/);
  });

  it('fills empty or absent provider and location keys from --provider and --location', () => {
    const m = new RowMapper(['patientKey', 'providerKey'], { provider: 'prov-default', location: 'loc-default' });
    expect(m.keys(row(['p1', '']))).toEqual({ patientKey: 'p1', providerKey: 'prov-default', practiceLocationKey: 'loc-default' });
    expect(m.keys(row(['p1', 'own']))).toEqual({ patientKey: 'p1', providerKey: 'own', practiceLocationKey: 'loc-default' });
    expect(m.provides('practiceLocationKey')).toBe(true);
    expect(m.provides('patientName')).toBe(false);
  });

  it('takes the template from the row, else from --template', () => {
    const m = new RowMapper(headers, { template: 'jury-duty' });
    expect(m.templateName(row(['', '', '', '', 'school-note']))).toBe('school-note');
    expect(m.templateName(row(['', '', '', '', '  ']))).toBe('jury-duty');
  });
});
