'use strict';
// ioredis with its default options through Rampart: node ioredis.js <port> [keyA keyB] [--cluster]
// --cluster: Redis.Cluster pointed at Rampart, which it asks for CLUSTER SLOTS and finds one node owning every slot.
const Redis = require('ioredis');
const { Checks, runMain } = require('./check');

async function main(port, apart) {
  const cluster = process.argv.includes('--cluster');
  const c = new Checks(cluster ? 'ioredis-cluster' : 'ioredis');
  // defaults: ready check (INFO), auto-reconnect, offline queue; the cluster client's: slots read at connect
  const redis = cluster ? new Redis.Cluster([{ host: '127.0.0.1', port }]) : new Redis(port, '127.0.0.1');
  try {
    if (cluster) await clusterView(c, redis);
    await strings(c, redis);
    await hashesAndLists(c, redis);
    await expiry(c, redis);
    await pipelines(c, redis);
    await scripts(c, redis, apart);
    await clientCommands(c, redis);
    await transactions(c, redis, apart);
    await pubsub(c, redis);
  } finally {
    redis.disconnect();
  }
  c.report();
}

async function clusterView(c, redis) {
  await new Promise((resolve, reject) => {
    if (redis.status === 'ready') resolve();
    redis.once('ready', resolve);
    redis.once('error', reject);
  });
  const nodes = redis.nodes('all');
  c.equal(nodes.map((n) => `${n.options.host}:${n.options.port}`), [`127.0.0.1:${process.argv[2]}`], 'the one node is Rampart');
}

async function strings(c, redis) {
  const k = c.key('str'), v = c.value('str');
  c.equal(await redis.set(k, v), 'OK', 'SET');
  c.equal(await redis.get(k), v, 'GET');
  c.stored(k, v);
  c.equal(await redis.get(c.key('missing')), null, 'GET missing');
  const n = c.key('n');
  c.equal(await redis.incrby(n, 41), 41, 'INCRBY');
  c.equal(await redis.incr(n), 42, 'INCR');
  c.equal(await redis.append(k, '!'), v.length + 1, 'APPEND');
  c.stored(k, v + '!');
  const [a, b] = [c.key('ma'), c.key('mb')];
  c.equal(await redis.mset(a, '1', b, '2'), 'OK', 'MSET');
  c.equal(await redis.mget(a, c.key('none'), b), ['1', null, '2'], 'MGET across servers');
  c.equal(await redis.del(a, b), 2, 'DEL across servers');
}

async function hashesAndLists(c, redis) {
  const h = c.key('hash'), v = c.value('h');
  c.equal(await redis.hset(h, 'f1', v, 'f2', '2'), 2, 'HSET');
  c.equal(await redis.hgetall(h), { f1: v, f2: '2' }, 'HGETALL');
  c.equal(await redis.hincrby(h, 'f2', 3), 5, 'HINCRBY');
  const l = c.key('list');
  c.equal(await redis.rpush(l, 'a', v, 'c'), 3, 'RPUSH');
  c.equal(await redis.lrange(l, 0, -1), ['a', v, 'c'], 'LRANGE');
  c.equal(await redis.lpop(l), 'a', 'LPOP');
  c.equal(await redis.llen(l), 2, 'LLEN');
}

async function expiry(c, redis) {
  const k = c.key('ttl');
  c.equal(await redis.set(k, 'x', 'EX', 100), 'OK', 'SET EX');
  const ttl = await redis.ttl(k);
  c.ok(ttl > 90 && ttl <= 100, `TTL ${ttl} in (90, 100]`);
  const short = c.key('short');
  await redis.set(short, 'y', 'PX', 150);
  c.equal(await redis.exists(short), 1, 'EXISTS before expiry');
  await new Promise((resolve) => setTimeout(resolve, 400));
  c.equal(await redis.exists(short), 0, 'EXISTS after expiry');
  c.equal(await redis.persist(k), 1, 'PERSIST');
  c.equal(await redis.ttl(k), -1, 'TTL after PERSIST');
}

async function pipelines(c, redis) {
  const keys = Array.from({ length: 300 }, (_, i) => c.key(`p${i}`));
  const values = keys.map((_, i) => c.value(`p${i}`));
  const pipeline = redis.pipeline();
  keys.forEach((k, i) => pipeline.set(k, values[i]));
  keys.forEach((k) => pipeline.get(k));
  keys.forEach((k) => pipeline.strlen(k));
  const results = await pipeline.exec();
  c.equal(results.length, 900, 'pipeline reply count');
  results.forEach(([error]) => { if (error) throw error; });
  c.equal(results.slice(0, 300).map(([, r]) => r), keys.map(() => 'OK'), 'pipelined SETs');
  c.equal(results.slice(300, 600).map(([, r]) => r), values, 'pipelined GETs, each its own value');
  c.equal(results.slice(600).map(([, r]) => r), values.map((v) => v.length), 'pipelined STRLENs');
  c.stored(keys[0], values[0]);
  c.stored(keys[299], values[299]);

  // Many commands in flight at once, not awaited one by one.
  const got = await Promise.all(keys.map((k) => redis.get(k)));
  c.equal(got, values, 'concurrent GETs');
}

async function scripts(c, redis, apart) {
  // defineCommand runs EVALSHA and falls back to EVAL (which caches the script) on NOSCRIPT.
  redis.defineCommand('setAndLength', {
    numberOfKeys: 1,
    lua: `redis.call('SET', KEYS[1], ARGV[1]) return redis.call('STRLEN', KEYS[1]) -- ${c.run}`,
  });
  for (let i = 0; i < 6; i++) {
    const k = c.key(`lua${i}`), v = c.value('lua');
    c.equal(await redis.setAndLength(k, v), v.length, `defined command on key ${i}`);
    c.stored(k, v);
  }
  const sha = await redis.script('LOAD', 'return ARGV[1]');
  c.equal(await redis.script('EXISTS', sha), [1], 'SCRIPT EXISTS after LOAD');
  c.equal(await redis.evalsha(sha, 0, 'echoed'), 'echoed', 'EVALSHA without keys');
  const tag = `{${c.run}}`;
  c.equal(await redis.eval("redis.call('SET', KEYS[1], 'a') redis.call('SET', KEYS[2], 'b') return #KEYS", 2, `${tag}:a`, `${tag}:b`),
    2, 'EVAL with two keys sharing a hash tag');
  if (apart) {
    await c.rejects(redis.eval('return 1', 2, apart[0], apart[1]), /^CROSSSLOT Keys in request don't hash to the same slot$/,
      'EVAL with keys on two servers');
  }
}

async function clientCommands(c, redis) {
  c.equal(await redis.client('SETNAME', 'ioredis-test'), 'OK', 'CLIENT SETNAME');
  c.equal(await redis.client('GETNAME'), 'ioredis-test', 'CLIENT GETNAME');
  const id = await redis.client('ID');
  const info = await redis.client('INFO');
  c.ok(info.startsWith(`id=${id} `) && info.includes(' name=ioredis-test '), `CLIENT INFO: ${info}`);
  c.equal(await redis.ping(), 'PONG', 'PING');
  c.equal(await redis.echo('hi'), 'hi', 'ECHO');
}

async function transactions(c, redis, apart) {
  const tag = `{tx-${c.run}}`, v = c.value('tx');
  const replies = await redis.multi().set(`${tag}:a`, v).incr(`${tag}:n`).incr(`${tag}:n`).get(`${tag}:a`).exec();
  c.equal(replies, [[null, 'OK'], [null, 1], [null, 2], [null, v]], 'MULTI/EXEC replies');
  c.stored(`${tag}:a`, v);

  // WATCH: a change by another client between WATCH and EXEC makes EXEC return null, as on Redis.
  const other = redis.duplicate();
  try {
    c.equal(await redis.watch(`${tag}:a`), 'OK', 'WATCH');
    await other.set(`${tag}:a`, 'changed');
    c.equal(await redis.multi().set(`${tag}:a`, 'mine').exec(), null, 'EXEC after a watched key changed');
    c.equal(await redis.get(`${tag}:a`), 'changed', 'the other client\'s write stands');
    c.stored(`${tag}:a`, 'changed');
  } finally {
    other.disconnect();
  }

  if (apart) {
    let error = null;
    try { await redis.multi().set(apart[0], '1').set(apart[1], '2').exec(); } catch (e) { error = e; }
    c.ok(error && /^EXECABORT/.test(error.message), `EXECABORT for keys on two servers: ${error && error.message}`);
    c.ok(error.previousErrors.some((e) => /^CROSSSLOT/.test(e.message)), 'the queued command got CROSSSLOT');
    c.equal(await redis.exists(apart[0]), 0, 'nothing of the aborted transaction ran');
  }
}

async function pubsub(c, redis) {
  const channel = c.key('channel'), message = c.value('msg');
  const sub = redis.duplicate();
  try {
    const received = new Promise((resolve) => sub.on('message', (ch, m) => resolve([ch, m])));
    c.equal(await sub.subscribe(channel), 1, 'SUBSCRIBE count');
    c.equal(await redis.publish(channel, message), 1, 'PUBLISH reaches one subscriber');
    c.equal(await received, [channel, message], 'message received');
    const pattern = `${c.key('pat')}:*`;
    const viaPattern = new Promise((resolve) => sub.on('pmessage', (p, ch, m) => resolve([p, ch, m])));
    c.equal(await sub.psubscribe(pattern), 2, 'PSUBSCRIBE count');
    const target = pattern.replace('*', 'x');
    c.equal(await redis.publish(target, message), 1, 'PUBLISH to a pattern');
    c.equal(await viaPattern, [pattern, target, message], 'pmessage received');
    c.equal(await sub.unsubscribe(channel), 1, 'UNSUBSCRIBE leaves the pattern');
    c.equal(await sub.punsubscribe(pattern), 0, 'PUNSUBSCRIBE leaves nothing');
    c.equal(await sub.ping(), 'PONG', 'the subscriber connection serves commands again');
  } finally {
    sub.disconnect();
  }
}

runMain(main);
