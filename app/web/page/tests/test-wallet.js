// A Wallet Standard wallet for the end-to-end test, injected before the page's own scripts
// (Playwright's addInitScript). It registers as Phantom would, through the
// `wallet-standard:register-wallet` / `wallet-standard:app-ready` events, and signs with an
// ed25519 key that the test holds:
//
//   window.__ALLOT_TEST_WALLET__ = { seedHex: '<32-byte seed, hex>', reject: false };
//
// With `reject: true` (the test may flip it at any time) signing throws the wallet error a user
// causes by clicking "Reject": `{ code: 4001, message: 'User rejected the request.' }`.
// Every call is recorded in `window.__ALLOT_TEST_WALLET__.calls` for the test to inspect.
//
// Bundled with tweetnacl by tests/build-wallet.mjs into dist-test/test-wallet.js.

import nacl from 'tweetnacl';
import { base58, bytesFromHex } from './base58.mjs';

const NAME = 'Allot Test Wallet';
const CHAINS = ['solana:localnet'];
const ICON =
  'data:image/svg+xml;base64,' +
  btoa(
    '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">' +
      '<rect width="32" height="32" rx="7" fill="#4b3fd1"/>' +
      '<text x="16" y="22" font-size="16" text-anchor="middle" fill="#fff" font-family="sans-serif">T</text></svg>',
  );

const settings = window.__ALLOT_TEST_WALLET__;
if (!settings || typeof settings.seedHex !== 'string') {
  throw new Error('Allot Test Wallet: set window.__ALLOT_TEST_WALLET__ = { seedHex } before injecting it');
}
settings.calls = [];
const keyPair = nacl.sign.keyPair.fromSeed(bytesFromHex(settings.seedHex));
const address = base58(keyPair.publicKey);

class UserRejectedError extends Error {
  constructor() {
    super('User rejected the request.');
    this.name = 'UserRejectedError';
    this.code = 4001;
  }
}

/** Reads a compact-u16 (Solana's short_vec length) at `offset`: `[value, bytes used]`. */
function compactU16(bytes, offset) {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) throw new Error('transaction truncated in a compact-u16');
    value |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  throw new Error('compact-u16 longer than 3 bytes');
}

/**
 * Signs a serialized transaction (legacy or v0): `[n][n × 64-byte signatures][message]`.
 * The message's first `numRequiredSignatures` account keys are the signers, in the order of
 * the signature slots; this wallet fills the slot of its own key.
 */
function signSerialized(transaction) {
  const bytes = Uint8Array.from(transaction);
  const [signatureCount, lengthSize] = compactU16(bytes, 0);
  const messageOffset = lengthSize + 64 * signatureCount;
  const message = bytes.subarray(messageOffset);
  // A versioned message starts with 0x80 | version; a legacy one with its header.
  const headerOffset = message[0] & 0x80 ? 1 : 0;
  const requiredSignatures = message[headerOffset];
  if (requiredSignatures !== signatureCount) {
    throw new Error(`transaction has ${signatureCount} signature slots but its message asks for ${requiredSignatures}`);
  }
  const [keyCount, keyCountSize] = compactU16(message, headerOffset + 3);
  const keysOffset = headerOffset + 3 + keyCountSize;
  let slot = -1;
  for (let i = 0; i < Math.min(requiredSignatures, keyCount); i++) {
    const key = message.subarray(keysOffset + 32 * i, keysOffset + 32 * (i + 1));
    if (key.every((byte, j) => byte === keyPair.publicKey[j])) slot = i;
  }
  if (slot < 0) throw new Error(`${NAME}: the transaction does not ask ${address} to sign`);
  const signature = nacl.sign.detached(message, keyPair.secretKey);
  bytes.set(signature, lengthSize + 64 * slot);
  return bytes;
}

const account = Object.freeze({
  address,
  publicKey: keyPair.publicKey.slice(),
  chains: CHAINS,
  features: ['solana:signTransaction', 'solana:signAndSendTransaction'],
  label: NAME,
  icon: ICON,
});

class TestWallet {
  #accounts = [];
  #listeners = { change: [] };

  get version() {
    return '1.0.0';
  }
  get name() {
    return NAME;
  }
  get icon() {
    return ICON;
  }
  get chains() {
    return CHAINS.slice();
  }
  get accounts() {
    return this.#accounts.slice();
  }
  get features() {
    return {
      'standard:connect': { version: '1.0.0', connect: (input) => this.#connect(input) },
      'standard:disconnect': { version: '1.0.0', disconnect: () => this.#disconnect() },
      'standard:events': { version: '1.0.0', on: (event, listener) => this.#on(event, listener) },
      'solana:signTransaction': {
        version: '1.0.0',
        supportedTransactionVersions: ['legacy', 0],
        signTransaction: (...inputs) => this.#signTransaction(inputs),
      },
      'solana:signAndSendTransaction': {
        version: '1.0.0',
        supportedTransactionVersions: ['legacy', 0],
        signAndSendTransaction: async () => {
          settings.calls.push({ method: 'signAndSendTransaction' });
          throw new Error(`${NAME}: signAndSendTransaction is not supported on localnet`);
        },
      },
    };
  }

  async #connect(input) {
    settings.calls.push({ method: 'connect', silent: Boolean(input?.silent) });
    if (this.#accounts.length === 0) {
      this.#accounts = [account];
      this.#emit({ accounts: this.accounts });
    }
    return { accounts: this.accounts };
  }

  async #disconnect() {
    settings.calls.push({ method: 'disconnect' });
    this.#accounts = [];
    this.#emit({ accounts: [] });
  }

  #on(event, listener) {
    (this.#listeners[event] ??= []).push(listener);
    return () => {
      this.#listeners[event] = this.#listeners[event].filter((l) => l !== listener);
    };
  }

  #emit(properties) {
    for (const listener of this.#listeners.change) listener(properties);
  }

  async #signTransaction(inputs) {
    settings.calls.push({ method: 'signTransaction', count: inputs.length, rejected: Boolean(settings.reject) });
    if (settings.reject) throw new UserRejectedError();
    return inputs.map((input) => {
      if (input.account.address !== address) throw new Error(`${NAME}: unknown account ${input.account.address}`);
      return { signedTransaction: signSerialized(input.transaction) };
    });
  }
}

// registerWallet() from @wallet-standard/wallet: announce now (for an app already listening)
// and answer the app's ready event (for an app that loads later).
function registerWallet(wallet) {
  const callback = ({ register }) => register(wallet);
  class RegisterWalletEvent extends Event {
    #detail;
    constructor(detail) {
      super('wallet-standard:register-wallet', { bubbles: false, cancelable: false, composed: false });
      this.#detail = detail;
    }
    get detail() {
      return this.#detail;
    }
    get type() {
      return 'wallet-standard:register-wallet';
    }
  }
  window.dispatchEvent(new RegisterWalletEvent(callback));
  window.addEventListener('wallet-standard:app-ready', ({ detail: api }) => callback(api));
}

registerWallet(new TestWallet());
