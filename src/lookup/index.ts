/**
 * The lookup stage: fill letter fields (names, birth dates, addresses, phone) from the Canvas
 * FHIR R4 API for CSVs that only hold patientKey, providerKey and practiceLocationKey.
 */
export { fhirBaseUrl, parseFhirBaseUrl, ENV_FHIR_BASE_URL } from './base-url.js';
export {
  LOOKUP_FIELDS,
  LOOKUP_FIELDS_BY_KEY,
  PATIENT_FIELDS,
  PROVIDER_FIELDS,
  LOCATION_FIELDS,
  patientFields,
  practitionerFields,
  locationFields,
  formatAddress,
} from './map.js';
export { FhirReader, LookupError, type ReadResult, type ReadOutcome, type ReaderOptions, type ResourceType } from './fhir.js';
export { Directory, KEY_RESOURCES, type DirectoryOptions, type LookupProblem, type LookupStats } from './directory.js';
export { openDirectory, type LookupWiring } from './open.js';
