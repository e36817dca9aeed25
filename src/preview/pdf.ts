/**
 * Print check: a letter's HTML printed to a US Letter PDF by headless Chromium, the way a
 * printout or fax of it would look. One browser page is reused for every letter. The page
 * can never fetch anything: every request except data: URLs is aborted, WebSockets are
 * answered locally and closed, and scripts are switched off.
 */
import { findChromium, launchChromium, type Browser } from './chromium.js';
import { CanvasLettersError } from '../errors.js';

type Page = import('playwright-core').Page;

/** US Letter, with the 0.75in margins the bundled templates are designed for. */
export const PDF_OPTIONS = {
  format: 'Letter',
  printBackground: true,
  preferCSSPageSize: false,
  margin: { top: '0.75in', right: '0.75in', bottom: '0.75in', left: '0.75in' },
} as const;

/** Longest wait for one letter to load and print. */
const PRINT_TIMEOUT_MS = 30_000;

export class PdfPrinter {
  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
  ) {}

  /** Launch Chromium (ChromiumMissingError when it is not installed) and prepare one locked-down page. */
  static async open(opts: { env?: NodeJS.ProcessEnv } = {}): Promise<PdfPrinter> {
    let browser: Browser;
    try {
      browser = await launchChromium(opts);
    } catch (err) {
      if (err instanceof CanvasLettersError) throw err;
      const why = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);
      throw new CanvasLettersError(
        `Chromium (${findChromium(opts.env)}) could not be started (${why})`,
        'check that it runs with --version, reinstall it, or set CHROMIUM_PATH to a working Chromium',
      );
    }
    try {
      const page = await browser.context.newPage();
      page.setDefaultTimeout(PRINT_TIMEOUT_MS);
      await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort('blockedbyclient')));
      await page.routeWebSocket(/.*/, (ws) => ws.close());
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
      return new PdfPrinter(browser, page);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** The letter as PDF bytes. */
  async print(html: string): Promise<Buffer> {
    await this.page.setContent(html, { waitUntil: 'load' });
    return this.page.pdf(PDF_OPTIONS);
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** Number of pages in a PDF Chromium wrote (counts its page objects). */
export function pdfPageCount(pdf: Uint8Array): number {
  return Buffer.from(pdf).toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
}
