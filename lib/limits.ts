import { ServiceUnavailableError, TooManyRequestsError } from './errors.ts';
import type { AccountState, AccountStore } from './store/accounts.ts';

/** Per-user limits on model calls. */
export interface UsageLimits {
  /**
   * Counts one send into `roomId`, or throws `TooManyRequestsError` (nothing counted). `seen` is
   * the account as the caller read it. Resolves to whether `roomId` was already the user's latest
   * conversation (so its place at the top of the rooms list need not move).
   */
  admit(userId: string, roomId: string, seen: AccountState, now?: number): Promise<boolean>;
  /** Adds the tokens a reply used to today's total. */
  recordTokens(userId: string, tokens: number, now?: number): Promise<void>;
}

export interface AccountLimitsOptions {
  accounts: AccountStore;
  /** Sends and streams per user in any 60 seconds (counted in whole seconds); 0 turns it off. */
  perMinute: number;
  /** Tokens per user per UTC day; 0 turns the limit off. */
  dailyTokens: number;
}

const WINDOW_SECONDS = 60;
/** Enough for a burst of concurrent sends from one user to each win a turn. */
const ATTEMPTS = 25;

const sleep = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** Math.min(attempt, 5)));

/**
 * Limits kept in the user's account item with a conditional write, so every container enforces
 * the same numbers: a sliding 60-second window of sends (counted per second, so the item stays
 * small whatever the limit), and a per-day token total.
 */
export class AccountLimits implements UsageLimits {
  readonly #accounts: AccountStore;
  readonly #perMinute: number;
  readonly #dailyTokens: number;

  constructor({ accounts, perMinute, dailyTokens }: AccountLimitsOptions) {
    this.#accounts = accounts;
    this.#perMinute = perMinute;
    this.#dailyTokens = dailyTokens;
  }

  async admit(userId: string, roomId: string, seen: AccountState, now = Date.now()) {
    let account = seen;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(attempt);
      this.#checkTokens(account, now);
      const sends = this.#takeSlot(account, now);
      const latest = account.lastRoom === roomId;
      // With no rate limit and the same conversation as last time, there is nothing to write.
      if (!sends && latest) return true;
      const outcome = await this.#accounts.recordSend(userId, account, {
        sends: sends ?? account.sends,
        ...(latest ? {} : { lastRoom: roomId }),
      });
      if (outcome.recorded) return latest;
      account = outcome.current;
    }
    throw new ServiceUnavailableError('Too many simultaneous requests; try again');
  }

  async recordTokens(userId: string, tokens: number, now = Date.now()): Promise<void> {
    if (this.#dailyTokens <= 0 || tokens <= 0) return;
    await this.#accounts.addTokens(userId, utcDay(now), tokens);
  }

  #checkTokens(account: AccountState, now: number) {
    if (this.#dailyTokens <= 0 || account.tokensDay !== utcDay(now)) return;
    if (account.tokensUsed >= this.#dailyTokens) {
      throw new TooManyRequestsError(
        `Daily token limit of ${this.#dailyTokens} reached; it resets at midnight UTC`,
        (nextUtcMidnight(now) - now) / 1000,
      );
    }
  }

  /** The window with this send in it, or undefined when there is no rate limit. */
  #takeSlot(account: AccountState, now: number): Record<string, number> | undefined {
    if (this.#perMinute <= 0) return undefined;
    const second = Math.floor(now / 1000);
    const recent = Object.entries(account.sends)
      .map(([at, count]) => [Number(at), count] as const)
      .filter(([at]) => at > second - WINDOW_SECONDS);
    const used = recent.reduce((sum, [, count]) => sum + count, 0);
    if (used >= this.#perMinute) {
      // The earliest second whose sends must age out for one more to fit.
      let freed = 0;
      let oldest: number | undefined;
      for (const [at, count] of [...recent].sort((a, b) => a[0] - b[0])) {
        freed += count;
        if (freed > used - this.#perMinute) {
          oldest = at;
          break;
        }
      }
      throw new TooManyRequestsError(
        `Rate limit of ${this.#perMinute} messages per minute reached; try again shortly`,
        (oldest ?? second) + WINDOW_SECONDS - now / 1000,
      );
    }
    const window = Object.fromEntries(recent.map(([at, count]) => [String(at), count]));
    window[String(second)] = (window[String(second)] ?? 0) + 1;
    return window;
  }
}

const utcDay = (now: number) => new Date(now).toISOString().slice(0, 10);
const nextUtcMidnight = (now: number) => {
  const day = new Date(now);
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1);
};
