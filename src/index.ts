/**
 * canvas-letters as a library: read rows, compile templates, render and inline, validate,
 * preview and report. The library never prints and never exits the process: outcomes are
 * returned as data and progress is reported through callbacks.
 */
export * from './errors.js';
export * from './types.js';
export { openCsv, type CsvSource, type Delimiter } from './csv.js';
export { RowMapper, parseMapOptions, TEMPLATE_COLUMN, type MappingOptions } from './mapping.js';
export {
  TemplateSet,
  HELPER_NAMES,
  TEMPLATE_NAME,
  type LoadedTemplate,
  type TemplateFields,
} from './templates/index.js';
export { inlineCss, findRemoteImages, findStylesheetImports } from './inline.js';
export { isWellFormedKey, letterKey } from './letterkey.js';
export { validateBatch, type Plan, type PlannedRow, type PlanStatus, type ValidateOptions } from './validate.js';
export { defaultOutDir, planRows, type PassRow } from './batch.js';
export {
  ReportWriter,
  exitCodeFor,
  formatSummary,
  neutraliseFormula,
  REPORT_CSV,
  REPORT_JSON,
  type ReportSummary,
} from './report.js';
export { preview, type PreviewOptions, type PreviewResult, type PreviewRow } from './preview.js';
export { send, ledgerVerdict, type SendOptions, type SendResult, type Preflight } from './send.js';
export type { SendProgress } from './sender.js';
export { Ledger, LedgerError, LedgerBusyError, LedgerOriginError, type LedgerRecord, type LedgerStatus } from './ledger.js';
export { locateLedger, type LedgerLocation, type LocateOptions } from './ledger-location.js';
export { loadConfig, readDotEnv, isLoopbackHost, AuthError, type CanvasConfig, type Credentials } from './canvas/index.js';
export { watch, type WatchOptions, type WatchResult, type WatchEvent } from './watch/index.js';
export { WatchLockedError } from './watch/lock.js';
export { startSandbox, type Sandbox, type SandboxOptions, type FaultConfig } from './sandbox/index.js';
export { launchChromium, findChromium, ChromiumMissingError } from './browser.js';
