/**
 * The library's runtime exports are what the README's Library section documents (and the
 * errors its functions throw); the internals behind them are not exported.
 */
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

const DOCUMENTED = [
  'preview',
  'send',
  'watch',
  'startSandbox',
  'validateBatch',
  'TemplateSet',
  'openCsv',
  'Ledger',
  'loadConfig',
  'locateLedger',
];

const ERRORS = [
  'CanvasLettersError',
  'UsageError',
  'ConfigError',
  'CsvError',
  'TemplateError',
  'RenderError',
  'LedgerError',
  'LedgerBusyError',
  'LedgerOriginError',
  'AuthError',
  'ChromiumMissingError',
  'WatchLockedError',
  'CredentialsRefusedError',
];

describe('public API', () => {
  it('exports the documented functions and classes, and the typed errors, and nothing else at run time', () => {
    expect(Object.keys(api).sort()).toEqual([...DOCUMENTED, ...ERRORS].sort());
  });

  it('every exported error is a CanvasLettersError', () => {
    for (const name of ERRORS) {
      const cls = (api as Record<string, unknown>)[name] as abstract new (...args: never[]) => unknown;
      expect(cls === api.CanvasLettersError || cls.prototype instanceof api.CanvasLettersError, name).toBe(true);
    }
  });
});
