/**
 * The print check: PdfPrinter makes US Letter pages from a page that can never reach the
 * network or run a script; `preview --pdf` fails clearly, writing nothing, without a browser.
 * (The --pdf run with Chromium is in test/browser/preview-gallery.browser.test.ts.)
 */
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChromiumMissingError } from '../src/preview/chromium.js';
import { PdfPrinter, pdfPageCount } from '../src/preview/pdf.js';
import { HAS_CHROMIUM } from './support/browser.js';
import { runCli, tempDir, writeTree } from './support/cli.js';

const P1 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const P2 = '1a2b3c4d5e6f708192a3b4c5d6e7f809';
const PROV = 'aa11bb22cc33dd44ee55ff6677889900';
const LOC = '3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';

/** A folder with a one-template templates dir and `in.csv` (the given data lines). */
function batch(...lines: string[]): string {
  const dir = tempDir();
  writeTree(dir, {
    'tpl/visit.hbs': '<html><body><p>Dear {{name}},</p><p>Seen by {{doctor}}</p></body></html>\n',
    'in.csv': ['patientKey,providerKey,practiceLocationKey,name,doctor', ...lines].join('\n') + '\n',
  });
  return dir;
}
const args = (...extra: string[]) => ['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out', ...extra];

const text = (pdf: Buffer) => pdf.toString('latin1');
const PIXEL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

describe('preview --pdf', () => {
  it('without Chromium, fails with the install hint before reading or writing anything', () => {
    const dir = batch(`${P1},${PROV},${LOC},Ann,Dr. B`, `${P2},${PROV},${LOC},,Dr. B`);
    const r = runCli(args('--pdf', '--skip-invalid'), {
      cwd: dir,
      env: { CHROMIUM_PATH: '/nonexistent/chromium' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Chromium was not found');
    expect(r.stderr).toContain('sudo apt-get install chromium');
    expect(r.stderr).toContain('CHROMIUM_PATH');
    expect(r.stderr).not.toMatch(/row 2|previewed|report:/); // nothing validated or reported first
    expect(existsSync(join(dir, 'out'))).toBe(false);
    // Without --pdf the same run works.
    const plain = runCli(args('--skip-invalid'), { cwd: dir, env: { CHROMIUM_PATH: '/nonexistent/chromium' } });
    expect(plain.code).toBe(1);
    expect(readdirSync(join(dir, 'out', 'letters'))).toEqual(['row-00001.html']);
  });

  it('reports a Chromium that will not start, writing nothing', () => {
    const dir = batch(`${P1},${PROV},${LOC},Ann,Dr. B`);
    const r = runCli(args('--pdf'), { cwd: dir, env: { CHROMIUM_PATH: '/bin/false' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Chromium \(\/bin\/false\) could not be started/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('refuses --pdf with --no-files as a usage error, writing nothing', () => {
    const dir = batch(`${P1},${PROV},${LOC},Ann,Dr. B`);
    const r = runCli(args('--pdf', '--no-files'), {
      cwd: dir,
      env: { CHROMIUM_PATH: process.execPath }, // "found", and never launched
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--no-files');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('is listed in the help', () => {
    expect(runCli(['preview', '--help']).stdout).toContain('--pdf');
  });
});

describe('PdfPrinter without Chromium', () => {
  it('throws ChromiumMissingError with the install hint', async () => {
    await expect(PdfPrinter.open({ env: { CHROMIUM_PATH: '/nonexistent/chromium' } })).rejects.toThrow(ChromiumMissingError);
    await expect(PdfPrinter.open({ env: { CHROMIUM_PATH: '/nonexistent/chromium' } })).rejects.toThrow(/apt-get install chromium/);
  });
});

describe.skipIf(!HAS_CHROMIUM)('PdfPrinter (Chromium)', () => {
  let printer: PdfPrinter;
  let server: Server;
  let base = '';
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    printer = await PdfPrinter.open();
  }, 30_000);

  afterAll(async () => {
    await printer?.close();
    server?.close();
  });

  it('prints a letter on US Letter pages, data: images included', async () => {
    const pdf = await printer.print(`<html><body><p>Dear patient,</p><img src="${PIXEL}" width="50" height="50"></body></html>`);
    expect(text(pdf).startsWith('%PDF-')).toBe(true);
    expect(text(pdf)).toMatch(/\/MediaBox\s*\[\s*0 0 612 792\s*\]/);
    expect(text(pdf)).toMatch(/\/Subtype\s*\/Image/);
    expect(pdfPageCount(pdf)).toBe(1);
  });

  it('counts the pages of a long letter, reusing the same page', async () => {
    const pdf = await printer.print(`<html><body>${'<p>line</p>'.repeat(150)}</body></html>`);
    expect(pdfPageCount(pdf)).toBeGreaterThan(1);
    expect(text(pdf).match(/\/MediaBox\s*\[\s*0 0 612 792\s*\]/g)!.length).toBe(pdfPageCount(pdf));
  });

  it('never fetches anything and runs no script', async () => {
    const pdf = await printer.print(
      `<html><head><link rel="stylesheet" href="http://${base}/css"><style>@import url("http://${base}/import");</style></head><body>` +
        `<img src="http://${base}/img"><iframe src="http://${base}/frame"></iframe><video src="http://${base}/video"></video>` +
        `<p>body</p><script>fetch('http://${base}/fetch'); new WebSocket('ws://${base}/ws');` +
        `document.body.insertAdjacentHTML('beforeend', '<p>a script ran</p>'.repeat(300));</script></body></html>`,
    );
    expect(pdfPageCount(pdf)).toBe(1); // 300 paragraphs would not fit on one page
    await new Promise((r) => setTimeout(r, 200));
    expect(hits).toEqual([]);
  });
});
