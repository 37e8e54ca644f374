// The transaction's progress in `#status`: building → waiting for signature → submitted →
// confirmed, or where and why it stopped. `data-step` (and `data-reason`, `data-signature`)
// let tests wait for a state without reading prose.

import { byId, h } from './dom';
import { shortAddress } from './format';
import type { Reason } from './errors';

/** Steps on the way to confirmation, in order. */
const PROGRESS = ['building', 'signing', 'submitted', 'confirmed'] as const;
type Progress = (typeof PROGRESS)[number];

/** Where a flow may end other than `confirmed`. */
export type Stop = 'failed' | 'rejected' | 'expired' | 'unconfirmed' | 'error';
export type Step = Progress | Stop;

const LABELS: Record<Progress, string> = {
  building: 'Building',
  signing: 'Waiting for signature',
  submitted: 'Submitted',
  confirmed: 'Confirmed',
};

export interface StepDetails {
  title: string;
  detail?: string;
  signature?: string;
  explorerUrl?: string;
  reason?: Reason | 'program';
  /** When given, a Retry button that calls it. */
  retry?: () => void;
}

export class StepView {
  private readonly root = byId('status');
  /** The furthest progress step reached by the current flow. */
  private reached = 0;
  private signature: string | undefined;
  private explorerUrl: string | undefined;

  show(step: Step, details: StepDetails): void {
    const index = PROGRESS.indexOf(step as Progress);
    if (step === 'building') {
      this.signature = undefined;
      this.explorerUrl = undefined;
    }
    if (index >= 0) this.reached = index;
    // A transaction that landed and failed stops where `confirmed` would have been.
    if (step === 'failed') this.reached = PROGRESS.length - 1;
    this.signature = details.signature ?? this.signature;
    this.explorerUrl = details.explorerUrl ?? this.explorerUrl;
    const stopped = index < 0;
    const finished = step === 'confirmed' || stopped;

    const items = PROGRESS.map((name, i) => {
      const state =
        i < this.reached || (i === this.reached && step === 'confirmed')
          ? 'done'
          : i === this.reached
            ? stopped
              ? 'stopped'
              : 'current'
            : 'todo';
      const label = stopped && i === this.reached && step === 'failed' ? 'Failed' : LABELS[name];
      return h('li', { 'data-for': name, class: state }, label);
    });

    const parts = [
      h('ol', { class: 'steps' }, ...items),
      h('p', { class: 'title' }, details.title),
      details.detail ? h('p', { class: 'detail' }, details.detail) : null,
      this.signature ? this.signatureLine(this.signature, this.explorerUrl) : null,
      details.retry ? this.retryButton(details.retry) : null,
    ];
    this.root.replaceChildren(...parts.filter((part) => part !== null));
    this.root.dataset.step = step;
    this.root.dataset.busy = String(!finished);
    if (details.reason) this.root.dataset.reason = details.reason;
    else delete this.root.dataset.reason;
    if (this.signature) this.root.dataset.signature = this.signature;
    else delete this.root.dataset.signature;
    this.root.hidden = false;
  }

  private signatureLine(signature: string, explorerUrl: string | undefined): HTMLElement {
    return h(
      'p',
      { class: 'signature' },
      'Signature ',
      h('code', { title: signature, id: 'signature' }, shortAddress(signature)),
      explorerUrl ? ' · ' : null,
      explorerUrl ? h('a', { href: explorerUrl, target: '_blank', rel: 'noopener', id: 'explorer-link' }, 'View in explorer') : null,
    );
  }

  private retryButton(retry: () => void): HTMLElement {
    const button = h('button', { id: 'retry', type: 'button' }, 'Retry');
    button.addEventListener('click', () => retry(), { once: true });
    return button;
  }
}
