// The account view: network, address, balances, credential, what can be allocated or exchanged
// now (with the server's reason when not), and the pending exchange requests.

import type { Config, Credential, PendingRequest, Status } from './api';
import { byId, h } from './dom';
import { formatMinorUnits, formatSol, formatTime, formatUnits, parseUnits, shortAddress } from './format';

/** What the page says an eligible allocation rests on. */
const ALLOCATION_BASIS = {
  credential: 'on your credential',
  attestation: 'on your SAS attestation',
} as const;

export interface ViewActions {
  allocate(amount: number, decimals: number): void;
  /** `units` is the amount in base units of a mint with `decimals`; `display` is what the user typed. */
  exchange(units: bigint, display: string, decimals: number): void;
  cancel(request: PendingRequest, decimals: number): void;
}

export class AccountView {
  private readonly section = byId('account');
  private readonly actionsSection = byId('actions');
  private readonly network = byId('network');
  private readonly networkNote = byId('network-note');
  private readonly address = byId('address');
  private readonly sol = byId('sol');
  private readonly token = byId('token');
  private readonly holdings = byId('holdings');
  private readonly credential = byId('credential');
  private readonly error = byId('account-error');
  private readonly allocateButton = byId<HTMLButtonElement>('allocate');
  private readonly allocationReason = byId('allocation-reason');
  private readonly exchangeButton = byId<HTMLButtonElement>('exchange');
  private readonly exchangeAmount = byId<HTMLInputElement>('exchange-amount');
  private readonly exchangeReason = byId('exchange-reason');
  private readonly exchangeInputError = byId('exchange-input-error');
  private readonly pending = byId<HTMLUListElement>('pending');
  private readonly pendingEmpty = byId('pending-empty');

  private status: Status | undefined;
  private busy = false;
  private cancelTimer: number | undefined;

  constructor(private readonly actions: ViewActions) {
    this.allocateButton.addEventListener('click', () => {
      if (this.status) this.actions.allocate(this.status.allocation.amount, this.status.decimals);
    });
    this.exchangeButton.addEventListener('click', () => this.requestExchange());
    this.exchangeAmount.addEventListener('input', () => this.checkExchangeAmount());
  }

  /** After connecting: who and where, before the server has answered. */
  showAccount(address: string, config: Config | undefined, walletListsChain: boolean): void {
    this.section.hidden = false;
    this.address.textContent = shortAddress(address);
    this.address.title = address;
    this.address.dataset.address = address;
    this.showNetwork(config, walletListsChain);
    for (const field of [this.sol, this.token, this.holdings, this.credential]) {
      field.textContent = '…';
      delete field.dataset.units;
    }
    this.section.dataset.state = 'loading';
  }

  showNetwork(config: Config | undefined, walletListsChain: boolean): void {
    this.network.textContent = config ? config.cluster : 'unknown (the configuration did not load)';
    if (config) this.network.dataset.cluster = config.cluster;
    this.networkNote.hidden = !config || walletListsChain;
    this.networkNote.textContent = config
      ? `Your wallet does not list ${config.chain}; it may show balances of another network. ` +
        `This page sends your transactions to ${config.cluster} all the same.`
      : '';
  }

  showStatus(status: Status): void {
    this.status = status;
    this.error.hidden = true;
    this.section.dataset.state = 'loaded';
    this.actionsSection.hidden = false;

    this.sol.textContent = formatSol(status.sol);
    this.sol.dataset.lamports = String(status.sol);
    this.token.textContent = status.token ? `${status.token.name} (${status.token.symbol})` : 'unnamed';
    this.holdings.textContent = `${formatUnits(status.holdings, status.decimals)} ${status.token ? status.token.symbol : 'units'}`;
    this.holdings.dataset.units = String(status.holdings);
    const credential = describeCredential(status.credential);
    this.credential.textContent = credential.text;
    this.credential.dataset.state = credential.state;

    const { allocation, exchange } = status;
    this.allocationReason.textContent = allocation.eligible
      ? `You can receive ${formatUnits(allocation.amount, status.decimals)} units now${allocation.on ? `, ${ALLOCATION_BASIS[allocation.on]}` : ''}.`
      : allocation.reason;
    this.allocationReason.dataset.eligible = String(allocation.eligible);
    this.exchangeReason.textContent = exchange.eligible
      ? `You can exchange up to ${formatUnits(exchange.maxAmount, status.decimals)} units now.`
      : exchange.reason;
    this.exchangeReason.dataset.eligible = String(exchange.eligible);
    this.exchangeAmount.value = exchange.eligible ? formatUnits(exchange.maxAmount, status.decimals).replace(/,/g, '') : '';
    this.exchangeAmount.step = status.decimals > 0 ? `0.${'0'.repeat(status.decimals - 1)}1` : '1';
    this.exchangeInputError.hidden = true;

    this.renderPending();
    this.renderButtons();
  }

  /** The status could not be loaded: say so where the numbers would be. */
  showError(message: string): void {
    this.section.hidden = false;
    this.section.dataset.state = 'error';
    this.error.textContent = message;
    this.error.hidden = false;
    for (const field of [this.sol, this.token, this.holdings, this.credential]) {
      if (field.textContent === '…') field.textContent = '—';
    }
  }

  /** While a transaction is in flight every action button is disabled. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    this.renderButtons();
  }

  /** The wallet disconnected: forget the account. */
  reset(): void {
    this.status = undefined;
    this.section.hidden = true;
    this.actionsSection.hidden = true;
    this.pending.replaceChildren();
    window.clearTimeout(this.cancelTimer);
  }

  private requestExchange(): void {
    const units = this.checkExchangeAmount();
    if (units !== null && this.status) {
      this.actions.exchange(units, this.exchangeAmount.value.trim(), this.status.decimals);
    }
  }

  /** The typed amount in base units, or `null` (and a message under the input) when it is not valid. */
  private checkExchangeAmount(): bigint | null {
    const status = this.status;
    if (!status) return null;
    const units = parseUnits(this.exchangeAmount.value, status.decimals);
    let problem = '';
    if (units === null) problem = `Enter an amount, with at most ${status.decimals} decimal places.`;
    else if (units <= 0n) problem = 'Enter an amount above zero.';
    else if (units > BigInt(status.exchange.maxAmount)) {
      problem = `At most ${formatUnits(status.exchange.maxAmount, status.decimals)} units can be exchanged now.`;
    }
    this.exchangeInputError.textContent = problem;
    this.exchangeInputError.hidden = problem === '';
    return problem ? null : units;
  }

  private renderButtons(): void {
    const status = this.status;
    this.allocateButton.disabled = this.busy || !status?.allocation.eligible;
    this.exchangeButton.disabled = this.busy || !status?.exchange.eligible;
    this.exchangeAmount.disabled = this.busy || !status?.exchange.eligible;
    const now = Date.now() / 1000;
    for (const button of this.pending.querySelectorAll<HTMLButtonElement>('button.cancel')) {
      button.disabled = this.busy || now < Number(button.dataset.cancellableAt);
    }
  }

  private renderPending(): void {
    window.clearTimeout(this.cancelTimer);
    const status = this.status;
    const requests = status?.pending ?? [];
    this.pendingEmpty.hidden = requests.length > 0;
    this.pending.replaceChildren(
      ...requests.map((request) => {
        const cancel = h(
          'button',
          { type: 'button', class: 'cancel', 'data-id': String(request.id), 'data-cancellable-at': String(request.cancellableAt) },
          'Cancel',
        );
        cancel.addEventListener('click', () => this.actions.cancel(request, status!.decimals));
        const now = Date.now() / 1000;
        return h(
          'li',
          { 'data-id': String(request.id), 'data-amount': String(request.amount) },
          h('span', { class: 'request' }, `#${request.id}: ${formatUnits(request.amount, status!.decimals)} units`),
          h('span', { class: 'quote' }, `quoted ${formatMinorUnits(request.quoted, request.currency, request.currencyDigits)}`),
          request.locked ? h('span', { class: 'locked' }, 'being paid') : null,
          h('span', { class: 'when' }, `requested ${formatTime(request.createdAt)}`),
          cancel,
          now < request.cancellableAt ? h('span', { class: 'hint' }, `can be cancelled from ${formatTime(request.cancellableAt)}`) : null,
        );
      }),
    );
    // Enable each Cancel button when its time comes (and redraw its hint away).
    const next = Math.min(...requests.map((r) => r.cancellableAt).filter((t) => t > Date.now() / 1000));
    if (Number.isFinite(next)) {
      const delay = Math.min(next * 1000 - Date.now() + 250, 2 ** 31 - 1);
      this.cancelTimer = window.setTimeout(() => {
        this.renderPending();
        this.renderButtons();
      }, delay);
    }
  }
}

function describeCredential(credential: Credential | null): { text: string; state: string } {
  if (!credential || !credential.present) return { text: 'none: no verifier has issued you a credential for this pool', state: 'none' };
  if (credential.revoked) return { text: `revoked (period ${credential.period})`, state: 'revoked' };
  if (credential.expired) return { text: `expired (period ${credential.period})`, state: 'expired' };
  return { text: `valid for period ${credential.period}, indicator ${credential.indicator}`, state: 'valid' };
}
