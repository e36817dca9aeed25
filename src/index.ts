/**
 * canvas-letters as a library: read rows, compile templates, render and inline, validate,
 * preview and report. The library never prints and never exits the process: outcomes are
 * returned as data and progress is reported through callbacks.
 */
export * from './errors.js';
export * from './types.js';
export { openCsv, type CsvSource, type Delimiter } from './input/csv.js';
export { RowMapper, parseMapOptions, TEMPLATE_COLUMN, type MappingOptions } from './input/mapping.js';
export {
  TemplateSet,
  HELPER_NAMES,
  TEMPLATE_NAME,
  type LoadedTemplate,
  type TemplateFields,
} from './templates/index.js';
export { inlineCss, findRemoteImages, findStylesheetImports } from './templates/inline.js';
export { isWellFormedKey, letterKey } from './plan/letter-key.js';
export { validateBatch, type Plan, type PlannedRow, type PlanStatus, type ValidateOptions } from './plan/validate.js';
export { defaultOutDir } from './report/out-dir.js';
export {
  ReportWriter,
  exitCodeFor,
  formatSummary,
  neutraliseFormula,
  REPORT_CSV,
  REPORT_JSON,
  type ReportSummary,
} from './report/writer.js';
export { preview, type PreviewOptions, type PreviewResult, type PreviewRow } from './preview/index.js';
export { send, ledgerVerdict, type SendOptions, type SendResult, type Preflight } from './send/index.js';
export type { SendProgress } from './send/pass.js';
export { Ledger, LedgerError, LedgerBusyError, LedgerOriginError, type LedgerRecord, type LedgerStatus } from './ledger/ledger.js';
export { locateLedger, type LedgerLocation, type LocateOptions } from './ledger/location.js';
export { loadConfig, readDotEnv, isLoopbackHost, AuthError, type CanvasConfig, type Credentials } from './canvas/index.js';
export { watch, type WatchOptions, type WatchResult, type WatchEvent } from './watch/index.js';
export { WatchLockedError } from './watch/lock.js';
export { startSandbox, type Sandbox, type SandboxOptions, type FaultConfig } from './sandbox/index.js';
export { launchChromium, findChromium, ChromiumMissingError } from './preview/chromium.js';
