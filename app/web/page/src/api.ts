// The allot server's HTTP contract (same origin as the page). Every call either returns the
// decoded JSON or throws an `ApiError` whose message a person can read.

export type Cluster = 'localnet' | 'devnet' | 'mainnet-beta';

/** `GET /config.json`. */
export interface Config {
  cluster: Cluster;
  rpcUrl: string;
  /** Wallet Standard chain id, e.g. `solana:localnet`. */
  chain: `${string}:${string}`;
  /** The pool's address (base58). */
  pool: string;
  explorerUrl: string;
}

export interface Credential {
  present: boolean;
  revoked: boolean;
  expired: boolean;
  period: number;
  indicator: number;
}

export interface PendingRequest {
  /** The request's id: random, at most 2^53 - 1, so exact as a number. */
  id: number;
  /** Units escrowed. */
  amount: number;
  /** Funds owed, in the currency's minor units. */
  quoted: number;
  currency: string;
  /** Minor-unit digits of `currency`, as the request froze them. */
  currencyDigits: number;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds from which the user may cancel: its cancel time, or its lock's expiry. */
  cancellableAt: number;
  /** The operator locked it to pay it: no cancel until the lock expires. */
  locked: boolean;
}

/** A token's name, symbol and description URI. */
export interface TokenName {
  name: string;
  symbol: string;
  uri: string;
}

/** `GET /api/status?account=`. */
export interface Status {
  account: string;
  /** Lamports. */
  sol: number;
  /** Pool units held, in base units. */
  holdings: number;
  decimals: number;
  /** The token's name as its mint's Token-2022 metadata says (`null`: the operator has not named it). */
  token: TokenName | null;
  credential: Credential | null;
  /** `on`: what an eligible allocation rests on (`null` when refused). */
  allocation: { eligible: boolean; reason: string; amount: number; on: 'credential' | 'attestation' | null };
  exchange: { eligible: boolean; reason: string; maxAmount: number };
  pending: PendingRequest[];
}

export type ActionKind = 'allocate' | 'exchange' | 'cancel';

/** What the user asked for: enough to build (and rebuild, on retry) its transaction. */
export interface ActionRequest {
  kind: ActionKind;
  /** Query parameters: `amount` (in the token's units, decimals allowed) for exchange, `id` for cancel. */
  params: Record<string, string>;
  /** For the status line, e.g. "Request exchange of 10 units". */
  label: string;
}

/** `POST /api/actions/<kind>` (Solana Actions' POST response). */
export interface ActionTransaction {
  /** Base64 of the serialized unsigned transaction, the user as fee payer. */
  transaction: string;
  message?: string;
}

/** `GET /api/transaction/<signature>`. */
export interface TransactionStatus {
  status: 'pending' | 'confirmed' | 'failed' | 'expired';
  /** The decoded program error when failed. */
  error: string | null;
}

export class ApiError extends Error {
  /** HTTP status, 0 when the server could not be reached. */
  readonly status: number;
  readonly path: string;

  constructor(message: string, status: number, path: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.path = path;
  }
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init?.headers } });
  } catch (error) {
    throw new ApiError(`Cannot reach the allot server (${String(error)}).`, 0, path);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const message =
      typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : `The allot server answered ${response.status} ${response.statusText} for ${path.split('?')[0]}.`;
    throw new ApiError(message, response.status, path);
  }
  if (body === undefined) {
    throw new ApiError(`The allot server sent no JSON for ${path.split('?')[0]}.`, response.status, path);
  }
  return body as T;
}

function postJson<T>(path: string, body: unknown): Promise<T> {
  return request<T>(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export function getConfig(): Promise<Config> {
  return request<Config>('/config.json');
}

export function getStatus(account: string): Promise<Status> {
  return request<Status>(`/api/status?account=${encodeURIComponent(account)}`);
}

/** Asks the server to build the action's transaction for `account` (the fee payer). */
export async function buildAction(action: ActionRequest, account: string): Promise<ActionTransaction> {
  const query = new URLSearchParams(action.params).toString();
  const path = `/api/actions/${action.kind}${query ? `?${query}` : ''}`;
  const built = await postJson<ActionTransaction>(path, { account });
  if (typeof built.transaction !== 'string' || built.transaction === '') {
    throw new ApiError('The allot server returned no transaction.', 200, path);
  }
  return built;
}

/** Sends a signed transaction through the server's RPC; returns its signature (base58). */
export async function submit(signedBase64: string): Promise<string> {
  const { signature } = await postJson<{ signature: string }>('/api/submit', { transaction: signedBase64 });
  return signature;
}

export function transactionStatus(signature: string): Promise<TransactionStatus> {
  return request<TransactionStatus>(`/api/transaction/${encodeURIComponent(signature)}`);
}
