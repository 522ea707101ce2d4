// The paywall page's script. The server rendered everything the visitor reads (escaped, see ../html.ts);
// this script only reads the JSON data block, wires the "Pay" buttons to a wallet, builds the payment with
// the official @x402 client schemes, requests the page's own URL again with the payment header, and shows
// what came back. It touches the DOM through textContent and attributes only, never through HTML strings.
import { x402Client, x402HTTPClient } from '@x402/core/client';
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { ExactSvmScheme } from '@x402/svm/exact/client';

import { DATA_ELEMENT_ID, type PaywallPageData } from '../data.js';
import { connectEvm, discoverEvmWallets, evmChainId, injectedEvmWallet } from './evm.js';
import { connectSolana, discoverSolanaWallets, solanaWallets } from './svm.js';

const data = JSON.parse(document.getElementById(DATA_ELEMENT_ID)?.textContent ?? '{}') as PaywallPageData;
const paymentRequired = data.paymentRequired as unknown as PaymentRequired;

const byId = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el;
};

function setStatus(text: string, kind: 'info' | 'error' | 'ok' = 'info'): void {
  const status = byId('x402-status');
  status.textContent = text;
  status.className = `status ${kind}`;
}

const buttons = (): HTMLButtonElement[] => Array.from(document.querySelectorAll<HTMLButtonElement>('button[data-x402-option]'));
let busy = false;

/** Enables each option's button when a wallet of its family is there, and says which wallet pays. */
function refreshButtons(): void {
  const evm = injectedEvmWallet();
  const svm = solanaWallets()[0];
  for (const button of buttons()) {
    const family = data.payers[Number(button.dataset.x402Option)];
    const ready = family === 'evm' ? Boolean(evm) : family === 'svm' ? Boolean(svm) : false;
    button.disabled = busy || !ready;
    const label = family === 'svm' && svm ? `Pay with ${svm.name}` : 'Pay with wallet';
    button.textContent = ready ? label : family ? 'No wallet found' : 'Not payable here';
  }
}

/** The official client, with one scheme registered for the chosen option, signing through the wallet. */
async function clientFor(requirement: PaymentRequirements, family: 'evm' | 'svm'): Promise<x402HTTPClient> {
  // The visitor approves the exact amount in their wallet: the page itself sets no spend limits.
  const client = new x402Client(() => requirement).setSpendControls(false);
  if (family === 'evm') {
    const wallet = injectedEvmWallet();
    const chainId = evmChainId(requirement.network);
    if (!wallet || chainId === null) throw new Error('no EVM wallet in this browser');
    client.register(requirement.network, new ExactEvmScheme(await connectEvm(wallet, chainId)));
  } else {
    const wallet = solanaWallets()[0];
    if (!wallet) throw new Error('no Solana wallet in this browser');
    const rpcUrl = data.solanaRpcUrls[requirement.network];
    client.register(requirement.network, new ExactSvmScheme(await connectSolana(wallet, requirement.network), rpcUrl ? { rpcUrl } : undefined));
  }
  return new x402HTTPClient(client);
}

/** Why a paid request was refused, from the v2 headers (verify: PAYMENT-REQUIRED, settle: PAYMENT-RESPONSE). */
function refusal(http: x402HTTPClient, res: Response, body: string): string {
  const header = (name: string) => res.headers.get(name);
  try {
    if (header('payment-response')) return http.getPaymentSettleResponse(header).errorReason ?? 'settlement failed';
    if (header('payment-required')) return http.getPaymentRequiredResponse(header).error ?? 'payment refused';
  } catch {
    /* not a readable x402 header: fall back to the body */
  }
  return body.slice(0, 300) || res.statusText;
}

/** Shows the paid response: text and JSON as text, images as images, HTML in a sandbox, anything else as a download. */
async function showContent(res: Response): Promise<void> {
  const type = res.headers.get('content-type') ?? '';
  const box = byId('x402-content');
  box.replaceChildren();
  if (/^image\//.test(type)) {
    const img = document.createElement('img');
    img.src = URL.createObjectURL(await res.blob());
    img.alt = 'paid content';
    box.append(img);
  } else if (/^text\/html/.test(type)) {
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', '');
    frame.title = 'paid content';
    frame.srcdoc = await res.text();
    box.append(frame);
  } else if (/json|^text\/|xml/.test(type) || type === '') {
    const text = await res.text();
    const pre = document.createElement('pre');
    try {
      pre.textContent = /json/.test(type) ? JSON.stringify(JSON.parse(text), null, 2) : text;
    } catch {
      pre.textContent = text;
    }
    box.append(pre);
  } else {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await res.blob());
    link.download = location.pathname.split('/').pop() || 'content';
    link.textContent = `Download (${type})`;
    box.append(link);
  }
  byId('x402-result').hidden = false;
}

async function pay(index: number): Promise<void> {
  const requirement = paymentRequired.accepts[index];
  const family = data.payers[index];
  if (!requirement || !family) return;
  busy = true;
  refreshButtons();
  try {
    setStatus('Connecting the wallet…');
    const http = await clientFor(requirement, family);
    setStatus('Waiting for your signature…');
    const payload = await http.createPaymentPayload({ ...paymentRequired, accepts: [requirement] });
    setStatus('Paying…');
    const res = await fetch(location.href, {
      headers: { ...http.encodePaymentSignatureHeader(payload), accept: 'application/json, text/plain;q=0.9, */*;q=0.8' },
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (!res.ok) {
      setStatus(`Payment refused (${res.status}): ${refusal(http, res, await res.text())}`, 'error');
      return;
    }
    let receipt = '';
    try {
      const settled = http.getPaymentSettleResponse((name) => res.headers.get(name));
      receipt = settled.transaction ? ` Transaction ${settled.transaction} on ${settled.network}.` : '';
    } catch {
      /* a response without PAYMENT-RESPONSE: nothing to show */
    }
    setStatus(`Paid.${receipt}`, 'ok');
    byId('x402-options').hidden = true;
    await showContent(res);
  } catch (e) {
    setStatus(`Payment failed: ${e instanceof Error ? e.message : String(e)}`, 'error');
  } finally {
    busy = false;
    refreshButtons();
  }
}

for (const button of buttons()) button.addEventListener('click', () => void pay(Number(button.dataset.x402Option)));
discoverSolanaWallets(refreshButtons);
discoverEvmWallets(refreshButtons);
// Some wallets inject `window.ethereum` after the page's scripts ran, and say so with this event.
window.addEventListener('ethereum#initialized', refreshButtons);
refreshButtons();
document.documentElement.dataset.x402Ready = 'true';
