/**
 * The sandbox: a local stand-in for the Canvas token and Letter endpoints, listening on
 * 127.0.0.1 only, with seeded fault injection (throttling, 5xx, 4xx, resets, hangs, latency)
 * so tests and users can exercise every path of canvas-letters without the outside network.
 */
export { startSandbox, TOKEN_PATH, LETTER_PATH } from './server.js';
export { parseFaultRates, validateFaultConfig, mulberry32 } from './faults.js';
export {
  FAULT_KINDS,
  type FaultKind,
  type FaultConfig,
  type SandboxOptions,
  type ReceivedLetter,
  type SandboxStats,
  type Sandbox,
} from './types.js';
