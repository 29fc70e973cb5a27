import { TooManyRequestsError } from '#commons/errors.ts';
import type { AccountState, AccountStore } from '#store/accounts.ts';
import { dailyTokensUsed, rateLimited } from './wording.ts';

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

/**
 * Limits kept in the user's account item, so every container enforces the same numbers: a
 * sliding 60-second window of sends (a counter per second, so the item stays small whatever the
 * limit), and a per-day token total.
 *
 * A send adds itself to its second's counter with one atomic, unconditional write that returns
 * the counts as they were just before it: sends that race are serialized by DynamoDB, each sees
 * the ones before it, and never retries. One that finds the window full takes itself back out
 * and is refused, so the limit is never exceeded (and `n` simultaneous sends against a limit of
 * `k` admit exactly `k`); a send arriving in the instant before such a take-back may be refused
 * although it would have fitted.
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
    this.#checkTokens(seen, now);
    const lastRoom = seen.lastRoom === roomId ? undefined : roomId;
    if (this.#perMinute <= 0) {
      // With no rate limit and the same conversation as last time, there is nothing to write.
      if (lastRoom === undefined) return true;
      const { before } = await this.#accounts.countSend(userId, { expired: [], lastRoom });
      return before.lastRoom === roomId;
    }
    const second = Math.floor(now / 1000);
    const expired = Object.keys(seen.sends)
      .map(Number)
      .filter((at) => at <= second - WINDOW_SECONDS);
    const counted = await this.#accounts.countSend(userId, { second, expired, lastRoom });
    const { before } = counted;
    const recent = inWindow(before.sends, second);
    const used = recent.reduce((sum, [, count]) => sum + count, 0);
    if (used >= this.#perMinute) {
      await this.#accounts.uncountSend(userId, counted);
      throw new TooManyRequestsError(
        rateLimited(this.#perMinute),
        this.#freedAt(recent, used) + WINDOW_SECONDS - now / 1000,
      );
    }
    return before.lastRoom === roomId;
  }

  async recordTokens(userId: string, tokens: number, now = Date.now()): Promise<void> {
    if (this.#dailyTokens <= 0 || tokens <= 0) return;
    await this.#accounts.addTokens(userId, utcDay(now), tokens);
  }

  #checkTokens(account: AccountState, now: number) {
    if (this.#dailyTokens <= 0 || account.tokensDay !== utcDay(now)) return;
    if (account.tokensUsed >= this.#dailyTokens) {
      throw new TooManyRequestsError(
        dailyTokensUsed(this.#dailyTokens),
        (nextUtcMidnight(now) - now) / 1000,
      );
    }
  }

  /** The earliest second whose sends must age out for one more to fit. */
  #freedAt(recent: (readonly [number, number])[], used: number): number {
    let freed = 0;
    for (const [at, count] of [...recent].sort((a, b) => a[0] - b[0])) {
      freed += count;
      if (freed > used - this.#perMinute) return at;
    }
    return recent[0]?.[0] ?? 0;
  }
}

/**
 * The counts of the window that ends at `second`, as [second, count] pairs. Seconds after it count
 * too: a send that took its time just before another's may write just after it.
 */
const inWindow = (sends: Record<string, number>, second: number) =>
  Object.entries(sends)
    .map(([at, count]) => [Number(at), count] as const)
    .filter(([at, count]) => at > second - WINDOW_SECONDS && count > 0);

const utcDay = (now: number) => new Date(now).toISOString().slice(0, 10);
const nextUtcMidnight = (now: number) => {
  const day = new Date(now);
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1);
};
