/**
 * Configuration: .env parsing, environment precedence, base URL rules (https, or http on a
 * loopback host) and errors that name the variable but never show a value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { isLoopbackHost, loadConfig, readDotEnv } from '../src/canvas/index.js';

const SECRET = 'sec-Very-Secret-42';
const TOKEN = 'tok-Very-Secret-99';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dirWith(dotEnv?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'canvas-config-'));
  dirs.push(dir);
  if (dotEnv !== undefined) writeFileSync(join(dir, '.env'), dotEnv);
  return dir;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    for (const text of [err.message, String(err), JSON.stringify(err)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(TOKEN);
    }
    return err;
  }
  throw new Error('expected a ConfigError');
}

describe('readDotEnv', () => {
  it('reads KEY=VALUE with export, comments and quotes, without expansion', () => {
    const dir = dirWith(
      [
        '# a comment',
        '',
        'export A=plain value # trailing comment',
        "B='single # not a comment $HOME'",
        'C="double \\"quoted\\"\\nnext" # comment',
        '  D = spaced  ',
        'E=',
        'F=a#b',
        'G=${A}',
      ].join('\r\n'),
    );
    expect(readDotEnv(join(dir, '.env'))).toEqual({
      A: 'plain value',
      B: 'single # not a comment $HOME',
      C: 'double "quoted"\nnext',
      D: 'spaced',
      E: '',
      F: 'a#b',
      G: '${A}',
    });
  });

  it('refuses a malformed line by number, without its text', () => {
    const dir = dirWith(`CANVAS_BASE_URL=https://x.canvasmedical.com\n${SECRET}\n`);
    const err = configError(() => readDotEnv(join(dir, '.env')));
    expect(err.message).toContain('line 2');
    const unterminated = dirWith(`CANVAS_CLIENT_SECRET="${SECRET}\n`);
    expect(configError(() => readDotEnv(join(unterminated, '.env'))).message).toContain('line 1: unterminated double quote');
  });
});

describe('loadConfig', () => {
  it('reads .env from the working directory', () => {
    const cwd = dirWith(`CANVAS_BASE_URL=https://acme.canvasmedical.com\nCANVAS_CLIENT_ID=id-1\nCANVAS_CLIENT_SECRET='${SECRET}'\n`);
    const config = loadConfig({ env: {}, cwd });
    expect(config.baseUrl.href).toBe('https://acme.canvasmedical.com/');
    expect(config.credentials).toEqual({ kind: 'client', clientId: 'id-1', clientSecret: SECRET });
  });

  it('lets real environment variables win over .env; empty counts as unset', () => {
    const cwd = dirWith(`CANVAS_BASE_URL=https://file.canvasmedical.com\nCANVAS_CLIENT_ID=file-id\nCANVAS_CLIENT_SECRET=file-secret\n`);
    const config = loadConfig({ env: { CANVAS_BASE_URL: 'https://env.canvasmedical.com', CANVAS_CLIENT_ID: 'env-id', CANVAS_CLIENT_SECRET: '' }, cwd });
    expect(config.baseUrl.host).toBe('env.canvasmedical.com');
    expect(config.credentials).toEqual({ kind: 'client', clientId: 'env-id', clientSecret: 'file-secret' });
  });

  it('works without a .env file and with a ready access token', () => {
    const config = loadConfig({ env: { CANVAS_BASE_URL: 'https://acme.canvasmedical.com/', CANVAS_ACCESS_TOKEN: TOKEN }, cwd: dirWith() });
    expect(config.credentials).toEqual({ kind: 'token', accessToken: TOKEN });
  });

  it('refuses http:// for a host that is not this machine', () => {
    const err = configError(() => loadConfig({ env: { CANVAS_BASE_URL: 'http://acme.canvasmedical.com', CANVAS_ACCESS_TOKEN: TOKEN }, cwd: dirWith() }));
    expect(err.message).toContain('CANVAS_BASE_URL');
    expect(err.message).toContain('https://');
  });

  it('accepts http:// on loopback hosts', () => {
    for (const base of ['http://127.0.0.5:8080', 'http://[::1]:9000', 'http://localhost:3000', 'http://LOCALHOST']) {
      const config = loadConfig({ env: { CANVAS_BASE_URL: base, CANVAS_ACCESS_TOKEN: TOKEN }, cwd: dirWith() });
      expect(config.baseUrl.protocol).toBe('http:');
    }
  });

  it('refuses other malformed base URLs without repeating them', () => {
    for (const base of ['acme.canvasmedical.com', 'ftp://acme.canvasmedical.com', `https://user:${SECRET}@acme.canvasmedical.com`, 'https://a.canvasmedical.com/?x=1']) {
      const err = configError(() => loadConfig({ env: { CANVAS_BASE_URL: base, CANVAS_ACCESS_TOKEN: TOKEN }, cwd: dirWith() }));
      expect(err.message).toContain('CANVAS_BASE_URL');
      expect(err.message).not.toContain(base);
    }
  });

  it('names the missing variable and says what to do', () => {
    const cwd = dirWith();
    expect(configError(() => loadConfig({ env: { CANVAS_ACCESS_TOKEN: TOKEN }, cwd })).message).toMatch(/CANVAS_BASE_URL is not set: set it/);
    const base = { CANVAS_BASE_URL: 'https://acme.canvasmedical.com' };
    expect(configError(() => loadConfig({ env: base, cwd })).message).toMatch(/CANVAS_CLIENT_ID.*CANVAS_CLIENT_SECRET.*CANVAS_ACCESS_TOKEN/);
    expect(configError(() => loadConfig({ env: { ...base, CANVAS_CLIENT_SECRET: SECRET }, cwd })).message).toMatch(/^CANVAS_CLIENT_ID is not set/);
    expect(configError(() => loadConfig({ env: { ...base, CANVAS_CLIENT_ID: 'id' }, cwd })).message).toMatch(/^CANVAS_CLIENT_SECRET is not set/);
    const both = configError(() => loadConfig({ env: { ...base, CANVAS_CLIENT_ID: 'id', CANVAS_CLIENT_SECRET: SECRET, CANVAS_ACCESS_TOKEN: TOKEN }, cwd }));
    expect(both.message).toMatch(/both CANVAS_ACCESS_TOKEN and CANVAS_CLIENT_ID are set/);
  });
});

describe('isLoopbackHost', () => {
  it('knows localhost, 127.0.0.0/8 and ::1', () => {
    for (const h of ['localhost', 'localhost.', '127.0.0.1', '127.255.1.2', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['10.0.0.1', '128.0.0.1', 'localhost.example.com', 'mylocalhost', '::2', '[::]', '0.0.0.0', 'example.com', '']) expect(isLoopbackHost(h), h).toBe(false);
  });
});
