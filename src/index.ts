/**
 * canvas-letters as a library: what the README's Library section documents (`preview`, `send`,
 * `watch`, `startSandbox`, `validateBatch`, `TemplateSet`, `openCsv`, `Ledger`, `loadConfig`,
 * `locateLedger` and the typed errors), plus the types their options and results are made of.
 * The library never prints and never exits the process: outcomes are returned as data and
 * progress is reported through callbacks.
 */
export {
  CanvasLettersError,
  UsageError,
  ConfigError,
  CsvError,
  TemplateError,
  RenderError,
  type ExitCode,
} from './errors.js';
export type { CsvRow, KeyField, Keys, ReportRow, RowStatus, StatusCounts } from './types.js';

// Reading rows and templates.
export { openCsv, type CsvSource, type Delimiter } from './input/csv.js';
export type { MappingOptions } from './input/mapping.js';
export { TemplateSet, type LoadedTemplate, type TemplateFields, type Inlining, type ValueProblem } from './templates/index.js';

// Validation, preview and send.
export { validateBatch, type LookupSource, type Plan, type PlanStatus, type ValidateOptions } from './plan/validate.js';
export type { ReportSummary } from './report/writer.js';
export { preview, type PreviewOptions, type PreviewResult, type PreviewRow } from './preview/index.js';
export { ChromiumMissingError } from './preview/chromium.js';
export { send, type SendOptions, type SendResult, type Preflight, type WriteFailure } from './send/index.js';
export type { SendProgress, UnrecordedRow } from './send/pass.js';
export type { RecordRetry } from './send/record.js';

// The ledger and the Canvas configuration.
export {
  Ledger,
  LedgerError,
  LedgerBusyError,
  LedgerOriginError,
  type LedgerRecord,
  type LedgerStatus,
  type ClaimRequest,
  type ClaimResult,
  type FinishRequest,
} from './ledger/ledger.js';
export { locateLedger, type LedgerLocation, type LocateOptions } from './ledger/location.js';
export { loadConfig, AuthError, type CanvasConfig, type Credentials } from './canvas/index.js';

// The watcher and the sandbox.
export {
  watch,
  CredentialsRefusedError,
  type WatchOptions,
  type WatchResult,
  type WatchEvent,
  type FileOutcome,
  type Destination,
} from './watch/index.js';
export { WatchLockedError, type LockOwner } from './watch/lock.js';
export {
  startSandbox,
  type Sandbox,
  type SandboxOptions,
  type SandboxStats,
  type SandboxDirectory,
  type FaultConfig,
  type FaultKind,
  type FhirFaultKind,
  type FhirReadStats,
  type FhirResourceType,
  type DirectoryData,
  type ReceivedLetter,
} from './sandbox/index.js';
