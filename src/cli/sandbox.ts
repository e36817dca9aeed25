/**
 * `canvas-letters sandbox`: a local stand-in for the Canvas token and Letter endpoints on
 * 127.0.0.1, with fault injection and a web inbox, until Ctrl-C. Prints the environment lines
 * that point `send` at it (stdout) and the inbox URL (stderr). The credentials it prints are
 * the sandbox's own, not Canvas's. --store keeps letters in a private folder across restarts;
 * --directory names the JSON file of FHIR Patient, Practitioner and Location resources it serves
 * (default: the bundled samples/sandbox-directory.json; --no-directory: none); --known-keys
 * answers letters for keys that directory does not know with 422, as Canvas would.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { listOption, say, startEmpty } from './shared.js';

export interface SandboxFlags {
  port: number;
  latency: number;
  fail: string[];
  retryAfter?: string;
  tokenLifetime?: number;
  clientId: string;
  clientSecret: string;
  seed: number;
  responseBody: 'json' | 'empty' | 'text';
  store?: string;
  /** undefined: the bundled sample directory; false: --no-directory. */
  directory?: string | false;
  knownKeys?: boolean;
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

export function addSandboxOptions(cmd: Command): Command {
  return startEmpty(cmd, 'fail')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', nonNegativeInt, 8787)
    .option('--latency <ms>', 'delay before answering each Letter request', nonNegativeInt, 0)
    .addOption(listOption('--fail <kind=rate>', 'answer a share of Letter requests with a fault: 429, 503, 500, 502, 504, 422, 403, 401, reset or hang (repeatable, e.g. --fail 429=0.1)'))
    .option('--retry-after <value>', 'Retry-After for 429 and 503 (seconds or an HTTP date)', '1')
    .option('--token-lifetime <seconds>', 'expires_in of issued tokens', nonNegativeInt, 3600)
    .option('--client-id <id>', 'client id the token endpoint accepts', 'sandbox-client')
    .option('--client-secret <secret>', 'client secret the token endpoint accepts (a sandbox value, not a Canvas secret)', 'sandbox-secret')
    .option('--seed <n>', 'seed for the fault draws', nonNegativeInt, 1)
    .addOption(new Option('--response-body <kind>', 'body of a created letter').choices(['json', 'empty', 'text']).default('json'))
    .option('--store <dir>', 'keep letters across restarts in this folder (one 0600 JSON file per letter; folder 0700, created if missing)')
    .option('--directory <file>', 'JSON file of the FHIR Patient, Practitioner and Location resources to serve, by id (default: the bundled samples/sandbox-directory.json)')
    .option('--no-directory', 'serve no FHIR resources (every read is 404)')
    .option('--known-keys', 'answer a letter whose patient, provider or location key the directory does not know with a 4xx OperationOutcome naming the key, as Canvas would');
}

export async function runSandbox(flags: SandboxFlags): Promise<number> {
  const { startSandbox, parseFaultRates, SandboxDirectoryError } = await import('../sandbox/index.js');
  const { UsageError } = await import('../errors.js');
  if (flags.knownKeys && flags.directory === false) {
    throw new UsageError('--known-keys checks letter keys against the directory, and --no-directory turns it off', 'drop one of them (--directory <file> names another directory)');
  }
  let rates;
  try {
    rates = parseFaultRates(flags.fail);
  } catch (err) {
    throw new UsageError(`--fail: ${(err as Error).message}`);
  }
  let sandbox;
  try {
    sandbox = await startSandbox({
      port: flags.port,
      latencyMs: flags.latency,
      rates,
      retryAfter: flags.retryAfter,
      tokenLifetimeSeconds: flags.tokenLifetime,
      clientId: flags.clientId,
      clientSecret: flags.clientSecret,
      seed: flags.seed,
      responseBody: flags.responseBody,
      store: flags.store,
      directory: flags.directory,
      knownKeys: flags.knownKeys === true,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { syscall?: string };
    if (e.syscall === 'listen') throw new UsageError(`--port ${flags.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`, 'choose another port (0: any free port)');
    if (err instanceof SandboxDirectoryError) throw new UsageError(`--directory: ${e.message}`);
    if (flags.store !== undefined) throw new UsageError(`--store: ${e.message}`);
    throw err;
  }
  // Listen for Ctrl-C before saying where the sandbox is: whoever reads that may stop it at once.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  say(`Canvas sandbox listening on ${sandbox.url} (Ctrl-C to stop)`);
  if (sandbox.store) {
    say(`Store: ${sandbox.store.dir} (${sandbox.store.loaded} letters loaded)`);
    for (const skipped of sandbox.store.skipped) say(`  skipped ${skipped}`);
  }
  const { source, counts } = sandbox.directory;
  if (source === null) say('FHIR: no directory (every Patient, Practitioner and Location read is 404)');
  else say(`FHIR: ${counts.Patient} patients, ${counts.Practitioner} practitioners, ${counts.Location} locations from ${source}`);
  if (flags.knownKeys) say('Known keys: a letter for a patient, provider or location not in the directory is refused (422)');
  say('Point send at it with:');
  process.stdout.write(`CANVAS_BASE_URL=${sandbox.url}\nCANVAS_CLIENT_ID=${flags.clientId}\nCANVAS_CLIENT_SECRET=${flags.clientSecret}\n`);
  say(`Inbox: ${sandbox.url}/`);
  say(`Letters received: GET ${sandbox.url}/sandbox/letters; faults: PUT ${sandbox.url}/sandbox/faults`);
  await stopped;
  await sandbox.close();
  say(`sandbox stopped (${sandbox.letters.length} letters received)`);
  return 0;
}
