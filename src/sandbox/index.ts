/**
 * The sandbox: a local stand-in for the Canvas token, Letter and FHIR read endpoints, listening on
 * 127.0.0.1 only, with seeded fault injection (throttling, 5xx, 4xx, resets, hangs, latency)
 * so tests and users can exercise every path of canvas-letters without the outside network.
 */
export { startSandbox, TOKEN_PATH, LETTER_PATH } from './server.js';
export { DEFAULT_DIRECTORY, SandboxDirectoryError, loadDirectory } from './directory.js';
export { parseFaultRates, validateFaultConfig, mulberry32 } from './faults.js';
export {
  FAULT_KINDS,
  FHIR_FAULT_KINDS,
  FHIR_RESOURCE_TYPES,
  type DirectoryData,
  type FhirFaultKind,
  type FhirReadStats,
  type FhirResourceType,
  type SandboxDirectory,
  type FaultKind,
  type FaultConfig,
  type SandboxOptions,
  type ReceivedLetter,
  type SandboxStats,
  type Sandbox,
} from './types.js';
