/**
 * Where the Canvas FHIR R4 API is. Canvas serves it on a sibling host of the instance:
 * https://<instance>.canvasmedical.com → https://fumage-<instance>.canvasmedical.com
 * (docs.canvasmedical.com/api/service-base-urls). CANVAS_FHIR_BASE_URL overrides the derivation.
 * Messages name the variable, never its value.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isLoopbackHost, parseServiceUrl, readDotEnv, ENV_BASE_URL, type CanvasConfig } from '../canvas/config.js';
import { ConfigError } from '../errors.js';

export const ENV_FHIR_BASE_URL = 'CANVAS_FHIR_BASE_URL';

const INSTANCE_HOST = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.canvasmedical\.com\.?$/;

/** Validate CANVAS_FHIR_BASE_URL like CANVAS_BASE_URL: https, or http only for a loopback host. */
export function parseFhirBaseUrl(raw: string): URL {
  return parseServiceUrl(raw, ENV_FHIR_BASE_URL, {
    fix: 'set it to the FHIR API address, e.g. https://fumage-<instance>.canvasmedical.com',
    credentials: 'the FHIR API uses the same token as CANVAS_BASE_URL',
  });
}

/**
 * The FHIR base URL (path ends with '/'): CANVAS_FHIR_BASE_URL when set (in `env`, else in
 * `.env` in `cwd`, as loadConfig reads), else derived from config.baseUrl:
 * `<instance>.canvasmedical.com` → `https://fumage-<instance>.canvasmedical.com/` (a host already
 * named `fumage-…` is kept), a loopback base URL is used as it is (local sandbox), and any other
 * host is a ConfigError asking for CANVAS_FHIR_BASE_URL.
 */
export function fhirBaseUrl(config: CanvasConfig, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): URL {
  const env = opts.env ?? process.env;
  let raw = env[ENV_FHIR_BASE_URL]?.trim();
  if (!raw) {
    const file = join(opts.cwd ?? process.cwd(), '.env');
    raw = existsSync(file) ? readDotEnv(file)[ENV_FHIR_BASE_URL]?.trim() : undefined;
  }
  if (raw) return parseFhirBaseUrl(raw);

  const base = config.baseUrl;
  if (isLoopbackHost(base.hostname)) {
    const url = new URL(base.href);
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    return url;
  }
  const host = base.hostname.toLowerCase();
  const m = INSTANCE_HOST.exec(host);
  if (!m || base.protocol !== 'https:') {
    throw new ConfigError(
      `cannot tell the FHIR API address from ${ENV_BASE_URL}: it is not https://<instance>.canvasmedical.com`,
      `set ${ENV_FHIR_BASE_URL} to the FHIR API address, e.g. https://fumage-<instance>.canvasmedical.com`,
    );
  }
  const instance = m[1]!;
  const fhirHost = instance.startsWith('fumage-') ? instance : `fumage-${instance}`;
  return new URL(`https://${fhirHost}.canvasmedical.com/`);
}
