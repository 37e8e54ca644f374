// One user action from button to chain: the server builds the transaction, the wallet signs
// it, it is sent, and the page follows it until it is confirmed or fails.
//
// On localnet the wallet only signs (`solana:signTransaction`) and the page submits through
// the server (`/api/submit`): Phantom's sign-and-send would go to its own RPC, which cannot
// reach a local validator. On devnet and mainnet the wallet signs and sends.

import { type ActionRequest, buildAction, type Config, submit, transactionStatus } from './api';
import { explain } from './errors';
import { base58Encode, base64FromBytes, bytesFromBase64 } from './format';
import type { StepView } from './steps';
import { canSignAndSend, type Session, signAndSendTransaction, signTransaction } from './wallet';

/** How often, and for how long, the page asks whether a submitted transaction landed. */
const POLL_INTERVAL_MS = 1_000;
/** A blockhash lives about 150 slots (60–90 s); after that a transaction can no longer land. */
const CONFIRM_TIMEOUT_MS = 90_000;

export interface FlowContext {
  config: Config;
  session: Session;
  steps: StepView;
  /** Runs the same action again (Retry: a fresh transaction with a fresh blockhash). */
  retry: () => void;
}

export type Outcome = 'confirmed' | 'failed' | 'stopped';

/** The explorer's page for a transaction; on localnet it points the explorer at our RPC. */
export function explorerTxUrl(config: Config, signature: string): string {
  const base = `${config.explorerUrl.replace(/\/+$/, '')}/tx/${signature}`;
  switch (config.cluster) {
    case 'localnet':
      return `${base}?cluster=custom&customUrl=${encodeURIComponent(config.rpcUrl)}`;
    case 'devnet':
      return `${base}?cluster=devnet`;
    default:
      return base;
  }
}

/** Runs the action through every step; returns how it ended (the steps view shows why). */
export async function runAction(action: ActionRequest, context: FlowContext): Promise<Outcome> {
  const { config, session, steps } = context;
  const walletName = session.wallet.name;
  let signature: string;
  try {
    steps.show('building', { title: `${action.label}: building the transaction…` });
    const built = await buildAction(action, session.account.address);
    const transaction = bytesFromBase64(built.transaction);

    steps.show('signing', {
      title: 'Waiting for signature',
      detail: `Approve the transaction in ${walletName}.${built.message ? ` ${built.message}` : ''}`,
    });
    if (config.cluster === 'localnet' || !canSignAndSend(session)) {
      const signed = await signTransaction(session, transaction, config.chain);
      steps.show('signing', { title: 'Signed; sending…', detail: `${walletName} signed the transaction.` });
      signature = await submit(base64FromBytes(signed));
    } else {
      signature = base58Encode(await signAndSendTransaction(session, transaction, config.chain));
    }
  } catch (error) {
    const explanation = explain(error, config.cluster);
    steps.show(explanation.step, {
      title: titleOf(explanation.step),
      detail: explanation.message,
      reason: explanation.reason,
      ...(explanation.retry ? { retry: context.retry } : {}),
    });
    return 'stopped';
  }

  const explorerUrl = explorerTxUrl(config, signature);
  steps.show('submitted', { title: 'Submitted; waiting for confirmation…', signature, explorerUrl });
  return follow(action, signature, context);
}

function titleOf(step: string): string {
  switch (step) {
    case 'rejected':
      return 'Rejected in the wallet';
    case 'expired':
      return 'Transaction expired';
    default:
      return 'Not sent';
  }
}

/** Asks the server about the transaction until it is final or can no longer land. */
async function follow(action: ActionRequest, signature: string, context: FlowContext): Promise<Outcome> {
  const { steps } = context;
  const deadline = Date.now() + CONFIRM_TIMEOUT_MS;
  let lastProblem = '';
  while (Date.now() < deadline) {
    await sleep(POLL_INTERVAL_MS);
    try {
      const { status, error } = await transactionStatus(signature);
      if (status === 'confirmed') {
        steps.show('confirmed', { title: `${action.label}: confirmed.` });
        return 'confirmed';
      }
      if (status === 'failed') {
        steps.show('failed', {
          title: `${action.label}: failed on chain.`,
          detail: error ? `The program refused it: ${error}` : 'The transaction failed; the network gave no reason.',
          reason: 'program',
        });
        return 'failed';
      }
      if (status === 'expired') {
        const explanation = explain(new Error('blockhash expired'), context.config.cluster);
        steps.show('expired', { title: titleOf('expired'), detail: explanation.message, reason: explanation.reason, retry: context.retry });
        return 'stopped';
      }
    } catch (error) {
      // A hiccup while asking is not the transaction's fate: keep asking until the deadline.
      lastProblem = error instanceof Error ? error.message : String(error);
    }
  }
  steps.show('unconfirmed', {
    title: 'Not confirmed yet',
    detail:
      `No confirmation after ${CONFIRM_TIMEOUT_MS / 1000} s${lastProblem ? ` (last problem: ${lastProblem})` : ''}. ` +
      'Check the explorer link: it may still land, or it expired. Retry builds a fresh transaction.',
    retry: context.retry,
  });
  return 'stopped';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
