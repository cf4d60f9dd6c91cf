// Sessions in Redis, shared by every process that names the same server. A session is one string
// key, `<prefix>session:<id>`, written with `SET … PX` and its expiry moved by `PEXPIRE`, so Redis
// expires sessions by itself. A lock is `<prefix>lock:<id>`, taken with `SET NX PX` and a random
// token and given back by a compare-and-delete script, so a holder whose time ran out can never
// free the next holder's lock; it expires by itself when its holder dies (HOSTILE 57). Both are
// scripts so that the mark of a waiting process (`<prefix>waiting:<id>`, src/sessions/lock-queue.ts)
// costs no extra round trip.
//
// Redis slow or gone (HOSTILE 56) must cost a request a bounded wait and a 503, never a hang:
// every command has a timeout that also covers a command already sent, commands are refused at
// once while the connection is down (no offline queue piling up), the queue of commands in flight
// is bounded, and the client reconnects by itself, so the same store works again when Redis is
// back. The client (@redis/client) is imported on first use: an app without Redis never loads it.
import { randomBytes } from 'node:crypto';
import { LockQueue, WAITING_MARK_MS, type SharedLock } from './lock-queue.js';
import { parseSession, serialiseSession } from './stored-data.js';
import { SessionStoreUnavailableError, type SessionData, type SessionLock, type SessionStore } from './store.js';

/** Options of the Redis store (`tools.sessions.storage_type: 'redis'`). */
export interface RedisStoreOptions {
  /** `tools.sessions.redis_url`, e.g. `redis://127.0.0.1:6379/0` (`rediss://` for TLS). */
  url: string;
  /** `tools.sessions.max_size`: bytes of serialised data a session may hold. */
  maxSize: number;
  /** Put before every key this store uses, so apps can share one Redis. Default `'drupe:'`. */
  prefix?: string;
  /** Longest wait for one command's answer, in ms, after which the request gets a 503. Default 2000. */
  commandTimeoutMs?: number;
  /** Longest wait for the first connection, in ms; later ones are made in the background. Default 2000. */
  connectTimeoutMs?: number;
}

/** What this store uses of the client; its own types are not part of Drupe's. */
interface RedisConnection {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: readonly string[]): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Takes the lock (KEYS[1]) for ARGV[1], a token, for ARGV[2] ms. Held: marks that this store
 * (ARGV[3]) waits, in KEYS[2], for ARGV[4] ms. Taken: clears this store's own mark.
 */
const TAKE_SCRIPT = `if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if redis.call('get', KEYS[2]) == ARGV[3] then redis.call('del', KEYS[2]) end
  return 1
end
redis.call('set', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 0`;

/**
 * Deletes the lock (KEYS[1]) only while it still holds the caller's token (ARGV[1]); 1 when
 * another store than the caller (ARGV[2]) marked that it waits (KEYS[2]).
 */
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
local waiting = redis.call('get', KEYS[2])
if waiting and waiting ~= ARGV[2] then return 1 end
return 0`;

/** Most commands waiting for an answer at once; past it a command is refused (503). */
const MAX_COMMANDS_IN_FLIGHT = 10_000;
/** Longest pause between two attempts to reconnect. */
const MAX_RECONNECT_PAUSE_MS = 500;

/** Sessions in Redis, shared by every process that names the same server. */
export function redisStore(options: RedisStoreOptions): SessionStore {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError('redisStore: `url` (tools.sessions.redis_url) must be a redis:// or rediss:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new TypeError(`redisStore: \`url\` must be a redis:// or rediss:// URL, not ${url.protocol}`);
  if (!Number.isInteger(options.maxSize) || options.maxSize <= 0) throw new TypeError('redisStore: `maxSize` must be a positive whole number of bytes');
  const commandTimeoutMs = positive(options.commandTimeoutMs, 2000, 'commandTimeoutMs');
  const connectTimeoutMs = positive(options.connectTimeoutMs, 2000, 'connectTimeoutMs');
  return new RedisStore(options.url, options.maxSize, options.prefix ?? 'drupe:', commandTimeoutMs, connectTimeoutMs);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`redisStore: \`${name}\` must be a positive whole number of ms`);
  return value;
}

class RedisStore implements SessionStore {
  readonly #url: string;
  readonly #maxSize: number;
  readonly #prefix: string;
  readonly #commandTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #locks = new LockQueue();
  /** This store among the processes sharing the server, in the marks of waiting processes. */
  readonly #instance = randomBytes(9).toString('base64url');
  /** The client and its first connection, from the first command on. */
  #opening: Promise<{ client: RedisConnection; connected: Promise<unknown> }> | undefined;
  #everConnected = false;
  #closed = false;

  constructor(url: string, maxSize: number, prefix: string, commandTimeoutMs: number, connectTimeoutMs: number) {
    this.#url = url;
    this.#maxSize = maxSize;
    this.#prefix = prefix;
    this.#commandTimeoutMs = commandTimeoutMs;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  async load(id: string): Promise<SessionData | undefined> {
    const text = await this.#command(['GET', this.#prefix + 'session:' + id]);
    return typeof text === 'string' ? parseSession(text) : undefined;
  }

  async save(id: string, data: SessionData, ttlMs: number): Promise<void> {
    // Refused before anything is sent: a session too large leaves the old value as it was.
    const text = serialiseSession(data, this.#maxSize);
    await this.#command(['SET', this.#prefix + 'session:' + id, text, 'PX', ms(ttlMs)]);
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    await this.#command(['PEXPIRE', this.#prefix + 'session:' + id, ms(ttlMs)]);
  }

  async delete(id: string): Promise<void> {
    await this.#command(['DEL', this.#prefix + 'session:' + id]);
  }

  lock(id: string, waitMs: number, holdMs: number): Promise<SessionLock> {
    return this.#locks.lock(id, waitMs, holdMs, this.#sharedLock(this.#prefix + 'lock:' + id, this.#prefix + 'waiting:' + id));
  }

  #sharedLock(key: string, waitingKey: string): SharedLock {
    const token = randomBytes(16).toString('base64url');
    return {
      tryTake: async (holdMs) => {
        const taken = await this.#command(['EVAL', TAKE_SCRIPT, '2', key, waitingKey, token, ms(holdMs), this.#instance, String(WAITING_MARK_MS)]);
        return taken === 1;
      },
      release: async () => {
        try {
          return (await this.#command(['EVAL', RELEASE_SCRIPT, '2', key, waitingKey, token, this.#instance])) === 1;
        } catch {
          // Redis unreachable: the lock expires by itself after holdMs.
          return false;
        }
      },
    };
  }

  async clean(): Promise<void> {
    // Redis expires sessions and locks by itself.
  }

  async close(): Promise<void> {
    this.#closed = true;
    const opening = this.#opening;
    if (opening === undefined) return;
    let client: RedisConnection;
    try {
      ({ client } = await opening);
    } catch {
      return;
    }
    // A graceful close waits for the answers in flight, each bounded; a Redis that is gone gets
    // the socket closed under it.
    await within(client.close(), this.#commandTimeoutMs).catch(() => undefined);
    if (client.isOpen) client.destroy();
  }

  /** Send one command; any failure to get its answer is `SessionStoreUnavailableError`. */
  async #command(args: string[]): Promise<unknown> {
    if (this.#closed) throw new SessionStoreUnavailableError('the Redis session store is closed');
    const client = await this.#client();
    try {
      return await client.sendCommand(args);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** The client, once connected the first time (waiting at most the connect timeout for it). */
  async #client(): Promise<RedisConnection> {
    this.#opening ??= this.#open();
    const { client, connected } = await this.#opening;
    if (!this.#everConnected) {
      // Until the first connection, a command waits for it (bounded); after that a command while
      // the connection is down fails at once, and the client reconnects in the background.
      try {
        await within(connected, this.#connectTimeoutMs);
      } catch (err) {
        throw unavailable(err);
      }
      this.#everConnected = true;
    }
    return client;
  }

  async #open(): Promise<{ client: RedisConnection; connected: Promise<unknown> }> {
    const { createClient } = await import('@redis/client');
    const client: RedisConnection = createClient({
      url: this.#url,
      disableOfflineQueue: true,
      commandsQueueMaxLength: MAX_COMMANDS_IN_FLIGHT,
      commandOptions: { timeout: this.#commandTimeoutMs, rejectInFlight: true },
      socket: {
        connectTimeout: this.#connectTimeoutMs,
        reconnectStrategy: (retries: number) => Math.min(25 * 2 ** Math.min(retries, 10), MAX_RECONNECT_PAUSE_MS),
      },
    });
    // Failures reach the request that needed Redis, as a 503; the client reconnects by itself.
    client.on('error', () => undefined);
    const connected = client.connect();
    connected.catch(() => undefined);
    return { client, connected };
  }
}

/** A ttl as Redis takes it: whole milliseconds, at least 1. */
function ms(value: number): string {
  return String(Math.max(1, Math.ceil(value)));
}

function unavailable(err: unknown): SessionStoreUnavailableError {
  const reason = err instanceof Error ? err.message : String(err);
  return new SessionStoreUnavailableError(`Redis did not answer: ${reason}`, { cause: err });
}

/** Settle like `promise`, or reject after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}
