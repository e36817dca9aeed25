/**
 * Talking to Canvas: configuration (environment and .env), bearer tokens, the HTTP client
 * that makes one classified attempt per call, and the retry policy for one letter.
 */
export {
  loadConfig,
  readDotEnv,
  parseBaseUrl,
  isLoopbackHost,
  ENV_BASE_URL,
  ENV_CLIENT_ID,
  ENV_CLIENT_SECRET,
  ENV_ACCESS_TOKEN,
  type CanvasConfig,
  type Credentials,
} from './config.js';
export { AuthError, TokenSource, TokenUnavailableError } from './auth.js';
export { CanvasClient, type AttemptOutcome, type LetterRequest } from './letters.js';
export { parseRetryAfter, serverMessage, extractLetterId, RETRY_AFTER_CAP_MS } from './responses.js';
export { HttpClient, HttpFailure, type HttpOptions, type HttpRequest, type HttpResponse } from './http.js';
export {
  sendWithRetry,
  retry,
  backoffDelay,
  abortableSleep,
  type LetterResult,
  type LetterRetryOptions,
  type RetryInfo,
  type RetryPolicy,
  type RetryTiming,
  type Step,
  type LastFailure,
} from './retry.js';
