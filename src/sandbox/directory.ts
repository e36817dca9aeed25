/**
 * The directory the sandbox's FHIR reads serve (fhir.ts): a JSON file shaped like
 * samples/sandbox-directory.json, or that object. Each resource is checked and serialized once at
 * start: later changes to a given object do not show, and a directory that is not one fails at
 * start with an error naming the file.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FHIR_RESOURCE_TYPES, type DirectoryData, type FhirResourceType, type SandboxDirectory } from './types.js';

/** The bundled sample directory: ../../samples from src/sandbox/ (vitest) and from dist/sandbox/ (built). */
export const DEFAULT_DIRECTORY = fileURLToPath(new URL('../../samples/sandbox-directory.json', import.meta.url));

/** The directory given to the sandbox cannot be used (unreadable, not JSON, or not a directory). */
export class SandboxDirectoryError extends Error {}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Each resource's JSON text, by type and id. */
export type Bodies = Record<FhirResourceType, Map<string, string>>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check a parsed directory and serialize each resource (its id set to its key when missing). */
function checkDirectory(data: unknown, where: string): Bodies {
  const fail = (why: string) => new SandboxDirectoryError(`sandbox directory ${where}: ${why}`);
  if (!isObject(data)) throw fail('must be a JSON object like {"Patient": {"<id>": {...}}, "Practitioner": {...}, "Location": {...}}');
  const bodies: Bodies = { Patient: new Map(), Practitioner: new Map(), Location: new Map() };
  for (const [type, byId] of Object.entries(data)) {
    if (!(FHIR_RESOURCE_TYPES as readonly string[]).includes(type)) {
      throw fail(`unknown resource type "${type.slice(0, 60)}": use Patient, Practitioner or Location`);
    }
    if (byId === undefined) continue;
    if (!isObject(byId)) throw fail(`${type} must be an object of "<id>": resource`);
    for (const [id, resource] of Object.entries(byId)) {
      const at = `${type}/${id.slice(0, 80)}`;
      if (!FHIR_ID.test(id) || id === '.' || id === '..') throw fail(`${at}: the key is not a FHIR id (1-64 of A-Z a-z 0-9 - .)`);
      if (!isObject(resource)) throw fail(`${at}: must be a resource object`);
      if (resource.resourceType !== type) throw fail(`${at}: resourceType must be "${type}"`);
      if (resource.id !== undefined && resource.id !== id) throw fail(`${at}: its "id" differs from its key`);
      bodies[type as FhirResourceType].set(id, JSON.stringify({ ...resource, id }));
    }
  }
  return bodies;
}

function readDirectoryFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : code ?? (err as Error).message;
    throw new SandboxDirectoryError(`cannot read sandbox directory ${file}: ${why}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new SandboxDirectoryError(`sandbox directory ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** What the FHIR reads serve: where it came from with its counts, and the resources' JSON texts. */
export interface LoadedDirectory {
  info: SandboxDirectory;
  bodies: Bodies;
}

/** Load the directory option: a file path, the object, false (none) or undefined (the bundled sample). */
export function loadDirectory(input: string | DirectoryData | false | undefined): LoadedDirectory {
  let source: string | null = null;
  let bodies: Bodies;
  if (input === false) bodies = checkDirectory({}, '');
  else if (input === undefined || typeof input === 'string') {
    if (input !== undefined && input.trim() === '') throw new SandboxDirectoryError('sandbox directory: the file name is empty');
    source = input === undefined ? DEFAULT_DIRECTORY : resolve(input);
    bodies = checkDirectory(readDirectoryFile(source), source);
  } else bodies = checkDirectory(input, '(object)');
  const counts = { Patient: bodies.Patient.size, Practitioner: bodies.Practitioner.size, Location: bodies.Location.size };
  return { info: { source, counts }, bodies };
}

/** The directory resource each letter key names, and what an unknown one is called. */
const KEY_RESOURCES = [
  ['patientKey', 'Patient', 'patient'],
  ['providerKey', 'Practitioner', 'provider'],
  ['practiceLocationKey', 'Location', 'practice location'],
] as const;

export type LetterKeys = Record<(typeof KEY_RESOURCES)[number][0], string>;

/** Why each of a letter's keys that the directory does not know is refused, e.g. `patientKey 86b2…: no such patient`; [] when all are known. */
export function unknownKeys(bodies: Bodies, keys: LetterKeys): string[] {
  return KEY_RESOURCES.filter(([field, type]) => !bodies[type].has(keys[field])).map(([field, , noun]) => `${field} ${keys[field].slice(0, 100)}: no such ${noun}`);
}
