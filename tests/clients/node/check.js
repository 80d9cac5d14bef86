'use strict';
// Shared by the client scripts: counts checks, fails loudly with what differed, and reports the keys written so the
// xunit test can read them back from the servers themselves (not through Rampart).
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

class Checks {
  constructor(library) {
    this.library = library;
    this.count = 0;
    this.written = {};
    this.run = crypto.randomUUID();
  }

  key(name) {
    return `${this.library}:${name}:${this.run}`;
  }

  value(name) {
    return `${name}-${crypto.randomUUID()}`;
  }

  equal(actual, expected, what) {
    assert.deepStrictEqual(actual, expected, `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    this.count++;
  }

  ok(condition, what) {
    assert.ok(condition, what);
    this.count++;
  }

  async rejects(promise, pattern, what) {
    let error = null;
    try { await promise; } catch (e) { error = e; }
    assert.ok(error, `${what}: expected an error, got none`);
    assert.match(String(error.message), pattern, `${what}: unexpected error ${error.message}`);
    this.count++;
  }

  /** Remembers a string value written through Rampart, for the test to check on its server. */
  stored(key, value) {
    this.written[key] = value;
  }

  /** The last line of output: what the xunit test parses. */
  report() {
    console.log(JSON.stringify({ library: this.library, checks: this.count, written: this.written }));
  }
}

/**
 * Runs main(port, apart): apart is a pair of keys the test knows live on different servers of the pool (for the
 * CROSSSLOT check), or null for a one-server pool. Any failure prints the error and exits 1, so the test sees it.
 */
function runMain(main) {
  const port = Number(process.argv[2]);
  const apart = process.argv.length >= 5 ? [process.argv[3], process.argv[4]] : null;
  if (!Number.isInteger(port) || port <= 0) {
    console.error('usage: node <script> <port>');
    process.exit(2);
  }
  const timer = setTimeout(() => {
    console.error('timed out after 60 s');
    process.exit(3);
  }, 60_000);
  main(port, apart).then(
    () => { clearTimeout(timer); process.exit(0); },
    (error) => { console.error(error && error.stack || error); process.exit(1); });
}

module.exports = { Checks, runMain };
