'use strict';
// ioredis with its default options through Rampart: node ioredis.js <port>
const Redis = require('ioredis');
const { Checks, runMain } = require('./check');

async function main(port, apart) {
  const c = new Checks('ioredis');
  const redis = new Redis(port, '127.0.0.1'); // defaults: ready check (INFO), auto-reconnect, offline queue
  try {
    await strings(c, redis);
    await hashesAndLists(c, redis);
    await expiry(c, redis);
    await pipelines(c, redis);
    await scripts(c, redis, apart);
    await clientCommands(c, redis);
  } finally {
    redis.disconnect();
  }
  c.report();
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

runMain(main);
