'use strict';
// node-redis (the "redis" package) through Rampart: node node-redis.js <port> [keyA keyB] [--resp2] [--cluster]
// With node-redis's pure defaults: node-redis 6 opens with HELLO 3 (RESP3), and Rampart serves it on server
// connections that said HELLO 3 too (maps, nulls, push messages as Redis gives them). --resp2 runs the same checks
// with RESP: 2, the other protocol. --cluster: createCluster with Rampart as its one root node; it reads Rampart's
// cluster view (one master owning every slot, at Rampart's address) and sends everything there.
const { createClient, createCluster, defineScript } = require('redis');
const { Checks, runMain } = require('./check');

async function main(port, apart) {
  const cluster = process.argv.includes('--cluster');
  const c = new Checks(cluster ? 'node-redis-cluster' : 'node-redis');
  const options = {
    ...(process.argv.includes('--resp2') ? { RESP: 2 } : {}),
    scripts: {
      setAndLength: defineScript({
        NUMBER_OF_KEYS: 1,
        SCRIPT: `redis.call('SET', KEYS[1], ARGV[1]) return redis.call('STRLEN', KEYS[1]) -- ${c.run}`,
        parseCommand(parser, key, value) {
          parser.pushKey(key);
          parser.push(value);
        },
        transformReply: undefined,
      }),
    },
  };
  const socket = { host: '127.0.0.1', port, reconnectStrategy: false };
  const client = cluster
    ? createCluster({ ...options, rootNodes: [{ socket }], defaults: { socket: { reconnectStrategy: false } } })
    : createClient({ ...options, socket });
  const errors = [];
  client.on('error', (e) => errors.push(e));
  await client.connect();
  try {
    if (cluster) {
      c.equal(client.masters.map((m) => `${m.host}:${m.port}`), [`127.0.0.1:${port}`], 'the one master is Rampart');
    }
    await strings(c, client);
    await hashesAndLists(c, client);
    await expiry(c, client);
    await pipelines(c, client);
    await scripts(c, client, apart);
    // A cluster client has no keyless CLIENT commands of its own: they go to a node's client, here Rampart's.
    await clientCommands(c, cluster ? await client.nodeClient(client.masters[0]) : client);
    await transactions(c, client, apart);
    await pubsub(c, client);
  } finally {
    await client.quit();
  }
  c.equal(errors.map(String), [], 'no connection errors');
  c.report();
}

async function strings(c, client) {
  const k = c.key('str'), v = c.value('str');
  c.equal(await client.set(k, v), 'OK', 'SET');
  c.equal(await client.get(k), v, 'GET');
  c.stored(k, v);
  c.equal(await client.get(c.key('missing')), null, 'GET missing');
  const n = c.key('n');
  c.equal(await client.incrBy(n, 41), 41, 'INCRBY');
  c.equal(await client.incr(n), 42, 'INCR');
  const [a, b] = [c.key('ma'), c.key('mb')];
  c.equal(await client.mSet([[a, '1'], [b, '2']]), 'OK', 'MSET');
  c.equal(await client.mGet([a, c.key('none'), b]), ['1', null, '2'], 'MGET across servers');
  c.equal(await client.del([a, b]), 2, 'DEL across servers');
}

async function hashesAndLists(c, client) {
  const h = c.key('hash'), v = c.value('h');
  c.equal(await client.hSet(h, { f1: v, f2: '2' }), 2, 'HSET');
  c.equal({ ...(await client.hGetAll(h)) }, { f1: v, f2: '2' }, 'HGETALL');
  c.equal(await client.hIncrBy(h, 'f2', 3), 5, 'HINCRBY');
  const l = c.key('list');
  c.equal(await client.rPush(l, ['a', v, 'c']), 3, 'RPUSH');
  c.equal(await client.lRange(l, 0, -1), ['a', v, 'c'], 'LRANGE');
  c.equal(await client.lPop(l), 'a', 'LPOP');
  c.equal(await client.lLen(l), 2, 'LLEN');
}

async function expiry(c, client) {
  const k = c.key('ttl');
  c.equal(await client.set(k, 'x', { EX: 100 }), 'OK', 'SET EX');
  const ttl = await client.ttl(k);
  c.ok(ttl > 90 && ttl <= 100, `TTL ${ttl} in (90, 100]`);
  const short = c.key('short');
  await client.set(short, 'y', { PX: 150 });
  c.equal(await client.exists(short), 1, 'EXISTS before expiry');
  await new Promise((resolve) => setTimeout(resolve, 400));
  c.equal(await client.exists(short), 0, 'EXISTS after expiry');
  c.equal(await client.persist(k), 1, 'PERSIST');
  c.equal(await client.ttl(k), -1, 'TTL after PERSIST');
}

async function pipelines(c, client) {
  const keys = Array.from({ length: 300 }, (_, i) => c.key(`p${i}`));
  const values = keys.map((_, i) => c.value(`p${i}`));
  // A batch sent as one pipeline, without MULTI/EXEC.
  const batch = client.multi();
  keys.forEach((k, i) => batch.set(k, values[i]));
  keys.forEach((k) => batch.get(k));
  const results = await batch.execAsPipeline();
  c.equal(results.length, 600, 'pipeline reply count');
  c.equal(results.slice(0, 300), keys.map(() => 'OK'), 'pipelined SETs');
  c.equal(results.slice(300), values, 'pipelined GETs, each its own value');
  c.stored(keys[0], values[0]);
  c.stored(keys[299], values[299]);

  // Commands issued in the same tick are written together (node-redis's automatic pipelining).
  const got = await Promise.all(keys.map((k) => client.strLen(k)));
  c.equal(got, values.map((v) => v.length), 'concurrent STRLENs');
}

async function scripts(c, client, apart) {
  for (let i = 0; i < 6; i++) {
    const k = c.key(`lua${i}`), v = c.value('lua');
    c.equal(await client.setAndLength(k, v), v.length, `defined script on key ${i}`);
    c.stored(k, v);
  }
  const sha = await client.scriptLoad('return ARGV[1]');
  c.equal(await client.scriptExists(sha), [1], 'SCRIPT EXISTS after LOAD');
  c.equal(await client.evalSha(sha, { arguments: ['echoed'] }), 'echoed', 'EVALSHA without keys');
  const tag = `{${c.run}}`;
  c.equal(await client.eval("redis.call('SET', KEYS[1], 'a') redis.call('SET', KEYS[2], 'b') return #KEYS",
    { keys: [`${tag}:a`, `${tag}:b`] }), 2, 'EVAL with two keys sharing a hash tag');
  if (apart) {
    await c.rejects(client.eval('return 1', { keys: apart }), /^CROSSSLOT Keys in request don't hash to the same slot$/,
      'EVAL with keys on two servers');
  }
}

async function clientCommands(c, client) {
  c.equal(await client.clientSetName('node-redis-test'), 'OK', 'CLIENT SETNAME');
  c.equal(await client.clientGetName(), 'node-redis-test', 'CLIENT GETNAME');
  const id = await client.clientId();
  const info = await client.sendCommand(['CLIENT', 'INFO']);
  c.ok(info.startsWith(`id=${id} `) && info.includes(' name=node-redis-test '), `CLIENT INFO: ${info}`);
  c.equal(await client.ping(), 'PONG', 'PING');
  c.equal(await client.echo('hi'), 'hi', 'ECHO');
}

async function transactions(c, client, apart) {
  const tag = `{tx-${c.run}}`, v = c.value('tx');
  const replies = await client.multi().set(`${tag}:a`, v).incr(`${tag}:n`).incr(`${tag}:n`).get(`${tag}:a`).exec();
  c.equal(replies, ['OK', 1, 2, v], 'MULTI/EXEC replies');
  c.stored(`${tag}:a`, v);

  // WATCH on a client of its own (node-redis keeps WATCH state per connection), then a change by another client.
  const watcher = client.duplicate();
  await watcher.connect();
  try {
    // A cluster client WATCHes on the node client of the key's slot (its documented way), here Rampart's connection.
    const watching = watcher.getNodeClientForKey ? await watcher.getNodeClientForKey(`${tag}:a`) : watcher;
    c.equal(await watching.watch(`${tag}:a`), 'OK', 'WATCH');
    await client.set(`${tag}:a`, 'changed');
    await c.rejects(watching.multi().set(`${tag}:a`, 'mine').exec(), /WATCH|watched/i, 'EXEC after a watched key changed');
    c.equal(await client.get(`${tag}:a`), 'changed', 'the other client\'s write stands');
    c.stored(`${tag}:a`, 'changed');
  } finally {
    await watcher.quit();
  }

  if (apart) {
    await c.rejects(client.multi().set(apart[0], '1').set(apart[1], '2').exec(), /EXECABORT|CROSSSLOT/,
      'transaction with keys on two servers');
    c.equal(await client.exists(apart[0]), 0, 'nothing of the aborted transaction ran');
  }
}

async function pubsub(c, client) {
  const channel = c.key('channel'), message = c.value('msg');
  const sub = client.duplicate();
  await sub.connect();
  try {
    const received = new Promise((resolve) => { sub.subscribe(channel, (m, ch) => resolve([ch, m])); });
    // The SUBSCRIBE reply has come back once PUBSUB NUMSUB counts the subscriber.
    for (let i = 0; i < 100 && (await client.pubSubNumSub(channel))[channel] !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    c.equal(await client.publish(channel, message), 1, 'PUBLISH reaches one subscriber');
    c.equal(await received, [channel, message], 'message received');
    await sub.unsubscribe(channel);
    c.equal(String(await sub.ping()), 'PONG', 'the subscriber connection serves commands again');
  } finally {
    await sub.quit();
  }
}

runMain(main);
