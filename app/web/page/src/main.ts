// The allot page: find a wallet, connect, show the account, and run the user's actions.

import { type ActionRequest, type Config, getConfig, getStatus } from './api';
import { byId } from './dom';
import { isUserRejection, messageOf } from './errors';
import { runAction } from './flow';
import { formatUnits, plainUnits } from './format';
import { StepView } from './steps';
import { AccountView } from './view';
import { connect, type Session, type UsableWallet, walletKnowsChain, watchAccount, watchWallets } from './wallet';

/** How long to wait for a wallet extension to register before saying there is none. */
const NO_WALLET_GRACE_MS = 800;

const notice = byId('notice');
const noWallet = byId('no-wallet');
const connectButton = byId<HTMLButtonElement>('connect');
const walletName = byId('wallet-name');
const walletError = byId('wallet-error');

const steps = new StepView();
const view = new AccountView({
  allocate: (amount, decimals) =>
    perform({ kind: 'allocate', params: {}, label: `Allocate ${formatUnits(amount, decimals)} units` }),
  exchange: (units, display, decimals) =>
    perform({
      kind: 'exchange',
      params: { amount: plainUnits(units, decimals) },
      label: `Request exchange of ${display} units`,
    }),
  cancel: (request, decimals) =>
    perform({
      kind: 'cancel',
      params: { id: String(request.id) },
      label: `Cancel request #${request.id} (${formatUnits(request.amount, decimals)} units)`,
    }),
});

let config: Config | undefined;
let wallet: UsableWallet | undefined;
let session: Session | undefined;
let stopWatchingAccount = () => {};
let busy = false;

function showNotice(message: string): void {
  notice.textContent = message;
  notice.hidden = false;
}

async function loadConfig(): Promise<void> {
  try {
    config = await getConfig();
    if (session) view.showNetwork(config, walletKnowsChain(session, config.chain));
  } catch (error) {
    showNotice(`The page could not load its configuration (/config.json): ${messageOf(error)} Transactions are unavailable.`);
  }
}

function showWallet(found: UsableWallet | undefined): void {
  wallet = found;
  connectButton.disabled = !found || session !== undefined;
  walletName.textContent = found ? (session ? `Connected with ${found.name}` : found.name) : '';
  if (found) noWallet.hidden = true;
  document.body.dataset.wallet = found ? found.name : 'none';
}

async function onConnect(): Promise<void> {
  if (!wallet) return;
  walletError.hidden = true;
  connectButton.disabled = true;
  try {
    await useSession(await connect(wallet));
  } catch (error) {
    walletError.textContent = isUserRejection(error)
      ? 'You declined the connection in your wallet.'
      : `Could not connect ${wallet.name}: ${messageOf(error)}`;
    walletError.hidden = false;
    connectButton.disabled = false;
  }
}

async function useSession(next: Session): Promise<void> {
  session = next;
  connectButton.hidden = true;
  showWallet(next.wallet);
  stopWatchingAccount();
  stopWatchingAccount = watchAccount(next.wallet, (account) => {
    if (!account) return disconnected();
    if (session && account.address !== session.account.address) void useSession({ wallet: next.wallet, account });
  });
  view.showAccount(next.account.address, config, config ? walletKnowsChain(next, config.chain) : true);
  await refresh();
}

function disconnected(): void {
  stopWatchingAccount();
  session = undefined;
  view.reset();
  connectButton.hidden = false;
  showWallet(wallet);
}

/** Reloads the account's status from the server. */
async function refresh(): Promise<void> {
  if (!session) return;
  const address = session.account.address;
  try {
    const status = await getStatus(address);
    if (session?.account.address === address) view.showStatus(status);
  } catch (error) {
    if (session?.account.address === address) view.showError(`Could not load this account's status: ${messageOf(error)}`);
  }
}

/** Runs an action unless one is already running; refreshes the view once it has landed. */
async function perform(action: ActionRequest): Promise<void> {
  if (busy || !session) return;
  if (!config) {
    showNotice('Transactions are unavailable: the page has no configuration (/config.json did not load). Reload to try again.');
    return;
  }
  busy = true;
  view.setBusy(true);
  try {
    const outcome = await runAction(action, { config, session, steps, retry: () => void perform(action) });
    if (outcome !== 'stopped') await refresh();
  } finally {
    busy = false;
    view.setBusy(false);
  }
}

connectButton.addEventListener('click', () => void onConnect());
void loadConfig();
watchWallets(showWallet);
window.setTimeout(() => {
  if (!wallet) noWallet.hidden = false;
}, NO_WALLET_GRACE_MS);
