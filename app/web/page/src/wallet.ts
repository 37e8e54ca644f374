// Wallet discovery and connection through Wallet Standard: Phantom, or any wallet that can
// connect and sign Solana transactions (the end-to-end test injects one of its own).

import { getWallets } from '@wallet-standard/app';
import type { IdentifierString, Wallet, WalletAccount } from '@wallet-standard/base';
import {
  SolanaSignAndSendTransaction,
  type SolanaSignAndSendTransactionFeature,
  SolanaSignTransaction,
  type SolanaSignTransactionFeature,
} from '@solana/wallet-standard-features';
import {
  StandardConnect,
  type StandardConnectFeature,
  StandardEvents,
  type StandardEventsFeature,
} from '@wallet-standard/features';

/** The wallet the page prefers when several are installed. */
const PREFERRED_WALLET = 'Phantom';

/** A wallet the page can use: it connects and signs Solana transactions. */
export type UsableWallet = Wallet & {
  features: StandardConnectFeature &
    SolanaSignTransactionFeature &
    Partial<SolanaSignAndSendTransactionFeature> &
    Partial<StandardEventsFeature>;
};

export function isUsable(wallet: Wallet): wallet is UsableWallet {
  return StandardConnect in wallet.features && SolanaSignTransaction in wallet.features;
}

/** The wallet to use among those registered: Phantom if present, else the first usable one. */
export function chooseWallet(wallets: readonly Wallet[]): UsableWallet | undefined {
  const usable = wallets.filter(isUsable);
  return usable.find((wallet) => wallet.name === PREFERRED_WALLET) ?? usable[0];
}

/**
 * Calls `onChange` with the chosen wallet now and whenever wallets register or unregister
 * (extensions may register after the page has loaded).
 */
export function watchWallets(onChange: (wallet: UsableWallet | undefined) => void): void {
  const wallets = getWallets();
  const update = () => onChange(chooseWallet(wallets.get()));
  wallets.on('register', update);
  wallets.on('unregister', update);
  update();
}

/** A connected wallet and the account the page acts for. */
export interface Session {
  wallet: UsableWallet;
  account: WalletAccount;
}

/** Asks the wallet to connect (it shows its own prompt) and takes its first account. */
export async function connect(wallet: UsableWallet): Promise<Session> {
  const { accounts } = await wallet.features[StandardConnect].connect();
  const account = accounts[0] ?? wallet.accounts[0];
  if (!account) throw new Error(`${wallet.name} connected but shared no account.`);
  return { wallet, account };
}

/**
 * Calls `onAccount` when the wallet switches account (with the new one) or disconnects
 * (with `undefined`). Returns the function that stops listening.
 */
export function watchAccount(wallet: UsableWallet, onAccount: (account: WalletAccount | undefined) => void): () => void {
  const events = wallet.features[StandardEvents];
  if (!events) return () => {};
  return events.on('change', ({ accounts }) => {
    if (accounts) onAccount(accounts[0]);
  });
}

/** Whether the wallet itself lists the chain (Phantom may not list `solana:localnet`). */
export function walletKnowsChain(session: Session, chain: IdentifierString): boolean {
  return session.wallet.chains.includes(chain) || session.account.chains.includes(chain);
}

export function canSignAndSend(session: Session): boolean {
  return SolanaSignAndSendTransaction in session.wallet.features;
}

/** `solana:signTransaction`: returns the signed transaction's bytes; the page sends it. */
export async function signTransaction(session: Session, transaction: Uint8Array, chain: IdentifierString): Promise<Uint8Array> {
  const [output] = await session.wallet.features[SolanaSignTransaction].signTransaction({
    account: session.account,
    transaction,
    // Only name the chain when the wallet knows it: a wallet may refuse a chain it does not list.
    ...(walletKnowsChain(session, chain) ? { chain } : {}),
  });
  if (!output) throw new Error(`${session.wallet.name} returned no signed transaction.`);
  return output.signedTransaction;
}

/** `solana:signAndSendTransaction`: the wallet sends it; returns the signature's bytes. */
export async function signAndSendTransaction(session: Session, transaction: Uint8Array, chain: IdentifierString): Promise<Uint8Array> {
  const feature = session.wallet.features[SolanaSignAndSendTransaction];
  if (!feature) throw new Error(`${session.wallet.name} cannot sign and send transactions.`);
  const [output] = await feature.signAndSendTransaction({
    account: session.account,
    transaction,
    chain,
    options: { preflightCommitment: 'confirmed' },
  });
  if (!output) throw new Error(`${session.wallet.name} returned no signature.`);
  return output.signature;
}
