/**
 * FHIR R4 resources → flat merge fields for templates. Pure functions: no I/O, no logging.
 * A piece that is missing, empty or not a string leaves its field out (never ""). Every value
 * is trimmed and has its runs of whitespace collapsed to one space.
 *
 * | Field                | FHIR source                                                                  |
 * |----------------------|------------------------------------------------------------------------------|
 * | patient.firstName    | Patient: chosen name¹ given[0]                                               |
 * | patient.lastName     | Patient: chosen name¹ family                                                 |
 * | patient.fullName     | Patient: chosen name¹ text, else given… family, then ", " + suffixes         |
 * |                      |   ("Marcus Washington, Jr."); prefixes (Mr., Ms., Dr.) are left out          |
 * | patient.birthDate    | Patient.birthDate as given (YYYY-MM-DD)                                      |
 * | patient.address      | Patient: chosen address² formatted³                                          |
 * | provider.fullName    | Practitioner: chosen name¹ text, else given… family, then ", " + generational|
 * |                      |   suffixes only (Jr., Sr., II…); prefixes and credentials are left out       |
 * | provider.credentials | Practitioner: chosen name¹ suffixes that are not generational, joined ", "   |
 * |                      |   ("MD, MPH"); if none, qualification[].code: text, else coding[0].display,  |
 * |                      |   else coding[0].code, joined ", " (duplicates dropped)                      |
 * | location.name        | Location.name                                                                |
 * | location.address     | Location.address formatted³ (an array is read like Patient.address²)        |
 * | location.phone       | Location.telecom with system "phone": use "work" first, then any other       |
 * |                      |   current one (not use "old", period not ended)                              |
 *
 * ¹ chosen name: the first name with use "official", else "usual", else the first that is not
 *   "old"/"maiden", else the first. Names whose period has ended count as "old".
 * ² chosen address: among addresses that are not use "old" and whose period has not ended,
 *   the first with use "home" (Patient) or "work" (Location), else the first of those.
 * ³ formatted: Address.text if present, else line[]…, city, then "state postalCode", joined
 *   with ", " ("1450 Alder Street, Suite 210, Springfield, OR 97477"). Country is left out.
 */
import { emptyRecord } from '../types.js';

export const PATIENT_FIELDS = ['patient.firstName', 'patient.lastName', 'patient.fullName', 'patient.birthDate', 'patient.address'] as const;
export const PROVIDER_FIELDS = ['provider.fullName', 'provider.credentials'] as const;
export const LOCATION_FIELDS = ['location.name', 'location.address', 'location.phone'] as const;

/** Every field the lookup can provide, in documentation order. */
export const LOOKUP_FIELDS: readonly string[] = Object.freeze([...PATIENT_FIELDS, ...PROVIDER_FIELDS, ...LOCATION_FIELDS]);

/** Which key provides which fields: a field is missing when its key is unknown to Canvas. */
export const LOOKUP_FIELDS_BY_KEY = Object.freeze({
  patientKey: PATIENT_FIELDS,
  providerKey: PROVIDER_FIELDS,
  practiceLocationKey: LOCATION_FIELDS,
});

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A trimmed, whitespace-collapsed string, or undefined when not a non-empty string. */
function str(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.replace(/\s+/g, ' ').trim();
  return s === '' ? undefined : s;
}

/** The non-empty strings of an array (or of a single string). */
function strs(v: unknown): string[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map(str).filter((s): s is string => s !== undefined);
}

function objs(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : isObj(v) ? [v] : [];
}

function join(parts: (string | undefined)[], sep: string): string | undefined {
  return str(parts.filter((p) => p !== undefined && p !== '').join(sep));
}

/** True when the element's period.end is a date before today (compared as ISO text, by day). */
function ended(el: Obj, today: string): boolean {
  const end = isObj(el.period) ? str(el.period.end) : undefined;
  return end !== undefined && end.slice(0, 10) < today;
}

function todayIso(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Elements that are current: not use "old" and period not ended. */
function current(list: Obj[]): Obj[] {
  const today = todayIso();
  return list.filter((el) => el.use !== 'old' && !ended(el, today));
}

function chooseName(resource: Obj): Obj | undefined {
  const names = objs(resource.name);
  const live = current(names);
  return (
    live.find((n) => n.use === 'official') ??
    live.find((n) => n.use === 'usual') ??
    live.find((n) => n.use !== 'maiden') ??
    names[0]
  );
}

const GENERATIONAL = /^(jr|sr|ii|iii|iv|v|vi)\.?$/i;

/** given… family, then suffixes after a comma; undefined when neither given nor family is there. */
function composeName(name: Obj, suffixes: string[]): string | undefined {
  const base = join([...strs(name.given), str(name.family)], ' ');
  if (base === undefined) return undefined;
  return suffixes.length ? `${base}, ${suffixes.join(', ')}` : base;
}

function chooseAddress(resource: Obj, prefer: 'home' | 'work'): Obj | undefined {
  const live = current(objs(resource.address));
  return live.find((a) => a.use === prefer) ?? live[0];
}

/** Address.text, else "line…, city, state postalCode". */
export function formatAddress(address: unknown): string | undefined {
  if (!isObj(address)) return undefined;
  const text = str(address.text);
  if (text) return text;
  const region = join([str(address.state), str(address.postalCode)], ' ');
  return join([...strs(address.line), str(address.city), region], ', ');
}

function put(out: Record<string, string>, field: string, value: string | undefined): void {
  if (value !== undefined) out[field] = value;
}

/** Patient → patient.firstName, lastName, fullName, birthDate, address (those present). */
export function patientFields(resource: unknown): Record<string, string> {
  const out = emptyRecord();
  if (!isObj(resource)) return out;
  const name = chooseName(resource);
  if (name) {
    put(out, 'patient.firstName', strs(name.given)[0]);
    put(out, 'patient.lastName', str(name.family));
    put(out, 'patient.fullName', str(name.text) ?? composeName(name, strs(name.suffix)));
  }
  put(out, 'patient.birthDate', str(resource.birthDate));
  put(out, 'patient.address', formatAddress(chooseAddress(resource, 'home')));
  return out;
}

function qualificationCredentials(resource: Obj): string[] {
  const out: string[] = [];
  for (const q of objs(resource.qualification)) {
    const code = isObj(q.code) ? q.code : undefined;
    if (!code) continue;
    const coding = objs(code.coding)[0];
    const label = str(code.text) ?? (coding ? str(coding.display) ?? str(coding.code) : undefined);
    if (label) out.push(label);
  }
  return out;
}

/** Practitioner → provider.fullName, provider.credentials (those present). */
export function practitionerFields(resource: unknown): Record<string, string> {
  const out = emptyRecord();
  if (!isObj(resource)) return out;
  const name = chooseName(resource);
  const suffixes = name ? strs(name.suffix) : [];
  const generational = suffixes.filter((s) => GENERATIONAL.test(s));
  const degrees = suffixes.filter((s) => !GENERATIONAL.test(s));
  if (name) put(out, 'provider.fullName', str(name.text) ?? composeName(name, generational));
  const credentials = degrees.length ? degrees : qualificationCredentials(resource);
  put(out, 'provider.credentials', join([...new Set(credentials)], ', '));
  return out;
}

function choosePhone(resource: Obj): string | undefined {
  const phones = current(objs(resource.telecom)).filter((t) => t.system === 'phone' && str(t.value) !== undefined);
  const pick = phones.find((t) => t.use === 'work') ?? phones[0];
  return pick ? str(pick.value) : undefined;
}

/** Location → location.name, location.address, location.phone (those present). */
export function locationFields(resource: unknown): Record<string, string> {
  const out = emptyRecord();
  if (!isObj(resource)) return out;
  put(out, 'location.name', str(resource.name));
  put(out, 'location.address', formatAddress(chooseAddress(resource, 'work')));
  put(out, 'location.phone', choosePhone(resource));
  return out;
}
