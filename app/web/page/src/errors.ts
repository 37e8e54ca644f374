// What went wrong, in words a person can act on. Errors come from three places: the allot
// server (`ApiError`, its `{message}`), the wallet (EIP-1193-style `{code, message}`; 4001 is
// "user rejected"), and the network.

import { ApiError } from './api';

/** Where the flow stopped: the wallet refused, the blockhash expired, or something else. */
export type Stop = 'rejected' | 'expired' | 'error';

export type Reason =
  | 'rejected'
  | 'blockhash-expired'
  | 'insufficient-sol'
  | 'already-pending'
  | 'unreachable'
  | 'server'
  | 'wallet';

export interface Explanation {
  step: Stop;
  /** Stable for tests: the `data-reason` of `#status`. */
  reason: Reason;
  message: string;
  /** Whether a Retry (rebuild with a fresh blockhash, sign again) may help. */
  retry: boolean;
}

/** The code EIP-1193 wallets (Phantom among them) throw when the user declines. */
export const USER_REJECTED_CODE = 4001;

export const REJECTED_MESSAGE = 'You rejected the request in your wallet; nothing was sent.';

export const EXPIRED_MESSAGE =
  'The transaction expired before it reached the network: its recent blockhash is too old ' +
  '(this happens when signing takes more than about a minute). Nothing was sent. Retry builds a fresh one.';

const EXPIRED_PATTERN = /blockhash not found|block ?height exceeded|blockhash (has )?expired|expired blockhash|transaction ?expired/i;
const NO_SOL_PATTERN = /no record of a prior credit|insufficient (funds|lamports)|not enough sol/i;
const PENDING_PATTERN = /already pending/i;
const REJECTED_PATTERN = /user rejected|rejected the request|user denied|user declined/i;

/** The message of anything thrown: an `Error`, a wallet's `{message}` object, or a string. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}

/** The wallet's error code, looked for where wallets and adapters put it. */
function codeOf(error: unknown): unknown {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 4; depth++) {
    const { code, cause, error: inner } = current as { code?: unknown; cause?: unknown; error?: unknown };
    if (code !== undefined) return code;
    current = cause ?? inner;
  }
  return undefined;
}

export function isUserRejection(error: unknown): boolean {
  const code = codeOf(error);
  return code === USER_REJECTED_CODE || code === String(USER_REJECTED_CODE) || REJECTED_PATTERN.test(messageOf(error));
}

/** Explains an error thrown while building, signing, or submitting a transaction. */
export function explain(error: unknown, cluster: string): Explanation {
  const message = messageOf(error);
  if (!(error instanceof ApiError) && isUserRejection(error)) {
    return { step: 'rejected', reason: 'rejected', message: REJECTED_MESSAGE, retry: false };
  }
  if (EXPIRED_PATTERN.test(message)) {
    return { step: 'expired', reason: 'blockhash-expired', message: EXPIRED_MESSAGE, retry: true };
  }
  if (NO_SOL_PATTERN.test(message)) {
    // The server says "not enough SOL: …" itself; the RPC's preflight wording needs translating.
    const readable = /not enough sol/i.test(message)
      ? message
      : `Not enough SOL: this account cannot pay the network fee on ${cluster} (${message})`;
    return { step: 'error', reason: 'insufficient-sol', message: readable, retry: false };
  }
  if (PENDING_PATTERN.test(message)) {
    return { step: 'error', reason: 'already-pending', message, retry: false };
  }
  if (error instanceof ApiError) {
    return error.status === 0
      ? { step: 'error', reason: 'unreachable', message, retry: true }
      : { step: 'error', reason: 'server', message, retry: error.status >= 500 };
  }
  return { step: 'error', reason: 'wallet', message: `The wallet reported an error: ${message}`, retry: false };
}
