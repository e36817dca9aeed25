/**
 * Which HTTP proxy a request goes through, from the usual environment variables:
 * `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http URLs (the lower-case forms win when both
 * are set), and `NO_PROXY` for the hosts that go direct. Loopback hosts (127.0.0.0/8, ::1,
 * localhost) always go direct.
 *
 * `NO_PROXY` is a comma- (or space-) separated list: `*` (no proxy at all), a host name (itself
 * and its subdomains; a leading `.` or `*.` means the same), an IP address, an IPv4 or IPv6 CIDR
 * range, each optionally with `:port` to match that port only.
 *
 * The proxy URL may carry credentials: it is a secret and never goes into a message.
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors.js';

export interface ProxyEnv {
  [name: string]: string | undefined;
}

interface NoProxyEntry {
  /** A lower-case host name without leading dots, or an IP range. */
  host?: string;
  range?: BlockList;
  port?: string;
}

export interface ProxySettings {
  http?: URL;
  https?: URL;
  /** `NO_PROXY=*`. */
  none: boolean;
  noProxy: NoProxyEntry[];
}

function pick(env: ProxyEnv, name: string): string | undefined {
  const lower = env[name.toLowerCase()]?.trim();
  if (lower) return lower;
  const upper = env[name]?.trim();
  return upper || undefined;
}

/** A proxy URL from the environment; `http://` is assumed when no scheme is given. */
function proxyUrl(value: string | undefined, name: string): URL | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    // The value may hold credentials: name the variable, never show the value.
    throw new ConfigError(`${name} is not a URL`, `set it to http://host:port (with user:password@ if the proxy needs them), or unset it`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name} must be an http:// or https:// URL`, 'socks proxies are not supported: use an HTTP proxy, or unset it');
  return url;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function noProxyEntry(raw: string): NoProxyEntry | undefined {
  let text = raw.trim().toLowerCase();
  if (!text) return undefined;
  let port: string | undefined;
  // host:port, [v6]:port, or v4/cidr:port; a bare IPv6 address has several colons and no port.
  const m = /^(\[[^\]]+\](?:\/\d+)?|[^:]+):(\d+)$/.exec(text);
  if (m) [, text, port] = m as unknown as [string, string, string];
  text = unbracket(text.replace(/^\*?\.+/, ''));
  const slash = text.indexOf('/');
  const address = slash >= 0 ? text.slice(0, slash) : text;
  const family = isIP(address);
  if (family) {
    const range = new BlockList();
    const type = family === 6 ? 'ipv6' : 'ipv4';
    const prefix = slash >= 0 ? Number(text.slice(slash + 1)) : family === 6 ? 128 : 32;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) return undefined;
    range.addSubnet(address, prefix, type);
    return { range, port };
  }
  return text ? { host: text, port } : undefined;
}

/** Read the proxy settings once (a client keeps them for its life). */
export function proxySettings(env: ProxyEnv): ProxySettings {
  const list = (pick(env, 'NO_PROXY') ?? '').split(/[\s,]+/);
  return {
    http: proxyUrl(pick(env, 'HTTP_PROXY'), 'HTTP_PROXY'),
    https: proxyUrl(pick(env, 'HTTPS_PROXY'), 'HTTPS_PROXY'),
    none: list.some((e) => e.trim() === '*'),
    noProxy: list.map(noProxyEntry).filter((e): e is NoProxyEntry => e !== undefined),
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function ipMatches(list: BlockList, host: string): boolean {
  const family = isIP(host);
  if (!family) return false;
  return list.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

export function isLoopback(hostname: string): boolean {
  const host = unbracket(hostname.toLowerCase()).replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost') || ipMatches(LOOPBACK, host);
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

/** The proxy for `url`, or undefined to go direct. */
export function proxyFor(url: URL, settings: ProxySettings): URL | undefined {
  const proxy = url.protocol === 'https:' ? settings.https : url.protocol === 'http:' ? settings.http : undefined;
  if (!proxy || settings.none || isLoopback(url.hostname)) return undefined;
  const host = unbracket(url.hostname.toLowerCase()).replace(/\.$/, '');
  const port = defaultPort(url);
  const bypass = settings.noProxy.some((e) => {
    if (e.port !== undefined && e.port !== port) return false;
    if (e.range) return ipMatches(e.range, host);
    return host === e.host || host.endsWith(`.${e.host!}`);
  });
  return bypass ? undefined : proxy;
}
