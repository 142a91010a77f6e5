import { errors } from '../errors.js';

/**
 * Bounded lanes for password hashing. bcrypt runs inside PostgreSQL (pgcrypto),
 * at cost 12 about a quarter of a second of one core: a flood of sign-ups would
 * otherwise take every CPU and pool connection, and sign-ins would wait behind
 * it. Each kind of request gets its own lane: at most `concurrency` at once,
 * at most `queue` waiting (each for at most `waitMs`); past that the request is
 * refused at once with 503 SERVER_BUSY and Retry-After, before any database work.
 */
export interface LaneOptions {
  concurrency: number;
  queue: number;
  waitMs: number;
  retryAfterSeconds?: number;
}

export class Lane {
  private active = 0;
  private readonly waiting: { start: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(readonly name: string, private readonly opts: LaneOptions) {}

  /** Runs `fn` when the lane has room, or throws SERVER_BUSY when the queue is full or the wait too long. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.opts.concurrency) await this.wait();
    else this.active++;
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Requests running and waiting (for tests and logs). */
  get load() {
    return { active: this.active, waiting: this.waiting.length };
  }

  private wait(): Promise<void> {
    const retry = this.opts.retryAfterSeconds ?? 5;
    if (this.waiting.length >= this.opts.queue) return Promise.reject(errors.serverBusy(retry));
    return new Promise<void>((resolve, reject) => {
      const entry = {
        // The slot is handed over by release(): `active` stays counted.
        start: () => { clearTimeout(entry.timer); resolve(); },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(errors.serverBusy(retry));
        }, this.opts.waitMs),
      };
      this.waiting.push(entry);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else this.active--;
  }
}

export interface Lanes {
  signup: Lane;
  login: Lane;
  /** Password change and reset: each hashes the new password (a change also checks the current one). */
  password: Lane;
}

/** The password lane's size when the environment does not set one (env.ts). */
export const PASSWORD_LANE = { concurrency: 2, queue: 32 } as const;

/**
 * Sign-up gets a small lane, so that however many arrive, at most a few hashes
 * run at once; sign-in keeps a larger lane of its own, so a sign-up flood never
 * takes its turn. Password changes and resets share a small lane of their own,
 * for the same reason.
 */
export function createLanes(env: {
  SIGNUP_CONCURRENCY: number; SIGNUP_QUEUE: number; LOGIN_CONCURRENCY: number; LOGIN_QUEUE: number;
  PASSWORD_CONCURRENCY: number; PASSWORD_QUEUE: number;
}): Lanes {
  return {
    signup: new Lane('signup', { concurrency: env.SIGNUP_CONCURRENCY, queue: env.SIGNUP_QUEUE, waitMs: 10_000 }),
    login: new Lane('login', { concurrency: env.LOGIN_CONCURRENCY, queue: env.LOGIN_QUEUE, waitMs: 10_000 }),
    password: new Lane('password', { concurrency: env.PASSWORD_CONCURRENCY, queue: env.PASSWORD_QUEUE, waitMs: 10_000 }),
  };
}
