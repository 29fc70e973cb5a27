import { randomBytes } from 'node:crypto';
import { TooManyRequestsError } from '#commons/errors.ts';
import type { AccountStore } from '#store/accounts.ts';
import { tooManyStreams } from './wording.ts';

/** A stream or follow in progress, counted against its user's cap until released. */
export interface Lease {
  release(): Promise<void>;
}

/** How many replies one user may stream or follow at once. */
export interface StreamLeases {
  /** A lease for one more, or 429 when the user holds the cap already. */
  open(userId: string): Promise<Lease>;
}

export interface AccountLeasesOptions {
  accounts: AccountStore;
  /** The cap; 0 turns it off. */
  perUser: number;
  /** How long a lease holds if its holder dies without releasing it (a function's timeout). */
  holdMs: number;
}

/** What a user who holds the cap is told to wait, in seconds. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Leases kept in the user's account item, one attribute each, so every container sees the same
 * count: a stream or follow holds a function for up to minutes, and without a cap one valid token
 * could hold the account's whole Lambda concurrency. Opening is one unconditional write that
 * returns the leases held just before (racing opens are serialized, so the cap is never passed);
 * one over the cap releases itself at once. A holder that dies leaves a lease that lapses after
 * `holdMs`, and is dropped by a later release: two writes a stream, no read.
 */
export class AccountLeases implements StreamLeases {
  readonly #accounts: AccountStore;
  readonly #perUser: number;
  readonly #holdMs: number;

  constructor({ accounts, perUser, holdMs }: AccountLeasesOptions) {
    this.#accounts = accounts;
    this.#perUser = perUser;
    this.#holdMs = holdMs;
  }

  async open(userId: string, now = Date.now()): Promise<Lease> {
    if (this.#perUser <= 0) return { release: async () => undefined };
    const mark = randomBytes(6).toString('base64url');
    const before = await this.#accounts.openLease(userId, mark, now + this.#holdMs);
    const leases = Object.entries(before.leases).filter(([other]) => other !== mark);
    const held = leases.filter(([, until]) => until > now).length;
    // Leases whose holders died go with this one's release.
    const lapsed = leases.filter(([, until]) => until <= now).map(([old]) => old);
    const lease = { release: () => this.#accounts.closeLeases(userId, [mark, ...lapsed]) };
    if (held >= this.#perUser) {
      await lease.release();
      throw new TooManyRequestsError(tooManyStreams(this.#perUser), RETRY_AFTER_SECONDS);
    }
    return lease;
  }
}
