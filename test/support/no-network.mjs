// Preloaded with --import into a CLI process under test: any attempt to open a socket,
// resolve a name or fetch is recorded in $NO_NETWORK_MARKER and refused.
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';

const marker = process.env.NO_NETWORK_MARKER;
function trip(what) {
  fs.appendFileSync(marker, `${what}\n`);
  throw new Error(`network used: ${what}`);
}
net.Socket.prototype.connect = function connect() {
  trip('net.Socket.connect');
};
dns.lookup = () => trip('dns.lookup');
dns.resolve = () => trip('dns.resolve');
dns.promises.lookup = async () => trip('dns.promises.lookup');
globalThis.fetch = async () => trip('fetch');
fs.writeFileSync(marker, '');
