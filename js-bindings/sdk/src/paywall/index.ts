// @x402-edge/sdk/paywall: the page a browser gets on 402. A @x402/core PaywallProvider, so it drops into
// @x402/hono, @x402/express and @x402/next (`paymentMiddleware(routes, server, paywallConfig, edgePaywall())`)
// and is what the x402-edge gateway serves. One self-contained HTML page: everything shown is rendered
// here and escaped; its one script (the official @x402 client schemes, bundled at build time) is inline and
// pinned by hash in the page's Content-Security-Policy, so the page loads nothing from any CDN and no
// injected markup can run. Why not @x402/paywall 2.12: see the package README ("The paywall").
import type { PaywallConfig, PaywallProvider } from '@x402/core/server';
import type { PaymentRequired } from '@x402/core/types';

import { DATA_ELEMENT_ID, type PaywallPageData } from './data.js';
import { escapeHtml, formatUnits, jsonForScript } from './html.js';
import { caip2, family, knownAsset, networkName, sameAsset, type AssetInfo } from './networks.js';
import { PAGE_SCRIPT, PAGE_SCRIPT_SHA256, PAGE_STYLE, PAGE_STYLE_SHA256 } from './page-script.js';

export type { AssetInfo } from './networks.js';
export { escapeHtml, formatUnits } from './html.js';

/** An asset the paywall shows in whole units (a token the built-in table does not know, e.g. a test token). */
export interface PaywallAsset extends AssetInfo {
  /** The token's address (EVM, case-insensitive) or mint (Solana). */
  address: string;
  /** Only on this network (CAIP-2 or v1 name); every network when absent. */
  network?: string;
}

/** Options of [edgePaywall]. The per-request PaywallConfig of the middleware (appName, testnet) wins. */
export interface EdgePaywallOptions {
  /** The page's heading (default: "Payment required"). */
  appName?: string;
  /** Display info of assets beyond Circle's USDC (which is known on the networks x402 serves). */
  assets?: PaywallAsset[];
  /**
   * The Solana RPC the page uses to build a payment (mint info, recent blockhash), per CAIP-2 network;
   * default: the cluster's public RPC. It must answer the browser (CORS); the page's CSP allows only these.
   */
  solanaRpcUrls?: Record<string, string>;
  /** Marks the page as a testnet one (default: the PaywallConfig's `testnet`, else no mark). */
  testnet?: boolean;
}

/** The public RPC of each Solana cluster: what @x402/svm's client uses when no RPC URL is given. */
const PUBLIC_SOLANA_RPC: Record<string, string> = {
  'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp': 'https://api.mainnet-beta.solana.com',
  'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1': 'https://api.devnet.solana.com',
  'solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z': 'https://api.testnet.solana.com',
};

type Requirement = PaymentRequired['accepts'][number] & { maxAmountRequired?: string; description?: string };

/** The display info of `requirement`'s asset: the options' first, then the built-in table, then `extra.decimals`. */
function assetInfo(requirement: Requirement, assets: PaywallAsset[]): AssetInfo | undefined {
  const fam = family(requirement.network);
  const configured = assets.find(
    (a) => sameAsset(fam, a.address, requirement.asset) && (!a.network || caip2(a.network) === caip2(requirement.network)),
  );
  if (configured) return { symbol: configured.symbol, decimals: configured.decimals };
  const known = knownAsset(requirement.network, requirement.asset);
  if (known) return known;
  const decimals = requirement.extra?.decimals;
  if (typeof decimals === 'number') {
    const symbol = requirement.extra?.symbol;
    return { symbol: typeof symbol === 'string' ? symbol : shortAddress(requirement.asset), decimals };
  }
  return undefined;
}

const shortAddress = (address: string): string => (address.length > 14 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address);

/** "0.01 USDC", or "10000 base units" when the asset's decimals are unknown (never a guess). */
function priceText(requirement: Requirement, assets: PaywallAsset[]): string {
  const amount = String(requirement.amount ?? requirement.maxAmountRequired ?? '');
  const info = assetInfo(requirement, assets);
  const whole = info ? formatUnits(amount, info.decimals) : null;
  const price = info && whole !== null ? `${whole} ${info.symbol}` : `${amount} base units`;
  return requirement.scheme === 'upto' ? `up to ${price}` : price;
}

/** The wallet family that pays `requirement` from the page: `exact` on EVM or Solana, in x402 v2. */
function payerOf(requirement: Requirement, x402Version: number): 'evm' | 'svm' | null {
  return requirement.scheme === 'exact' && x402Version >= 2 ? family(requirement.network) : null;
}

/** One row of the options table; its button pays option `index` (the page's script enables it). */
function optionRow(requirement: Requirement, index: number, assets: PaywallAsset[], payable: boolean): string {
  return (
    `<tr data-network="${escapeHtml(requirement.network)}">` +
    `<td>${escapeHtml(networkName(requirement.network))}<div class="mono">${escapeHtml(requirement.network)}</div></td>` +
    `<td class="amount">${escapeHtml(priceText(requirement, assets))}</td>` +
    `<td><div class="mono" title="asset">${escapeHtml(requirement.asset)}</div><div class="mono" title="pay to">to ${escapeHtml(requirement.payTo)}</div></td>` +
    `<td>${escapeHtml(requirement.scheme)}</td>` +
    `<td><button type="button" data-x402-option="${index}" disabled>${payable ? 'Pay with wallet' : 'Not payable here'}</button></td>` +
    `</tr>`
  );
}

/** The origins the page may fetch: itself (the paid request) and the Solana RPCs of its Solana options. */
function connectSources(requirements: Requirement[], solanaRpcUrls: Record<string, string>): string[] {
  const sources = new Set(["'self'"]);
  for (const r of requirements) {
    if (family(r.network) !== 'svm') continue;
    const url = solanaRpcUrls[r.network] ?? PUBLIC_SOLANA_RPC[caip2(r.network)];
    if (!url) continue;
    try {
      sources.add(new URL(url).origin);
    } catch {
      /* not a URL: the page cannot reach it anyway */
    }
  }
  return [...sources];
}

/**
 * The page's Content-Security-Policy: only its own script and style (by hash), fetches to itself and its
 * Solana RPCs, images and downloads of the paid content from blob: URLs; no forms, no <base>, no plugins.
 */
function contentSecurityPolicy(connect: string[]): string {
  return [
    "default-src 'none'",
    `script-src 'sha256-${PAGE_SCRIPT_SHA256}'`,
    `style-src 'sha256-${PAGE_STYLE_SHA256}'`,
    `connect-src ${connect.join(' ')}`,
    'img-src blob: data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** The whole page for `paymentRequired`. Exported for tests and for servers that are not @x402 middlewares. */
export function renderPaywall(paymentRequired: PaymentRequired, options: EdgePaywallOptions = {}, config: PaywallConfig = {}): string {
  const requirements = (Array.isArray(paymentRequired?.accepts) ? paymentRequired.accepts : []) as Requirement[];
  const assets = options.assets ?? [];
  const solanaRpcUrls = options.solanaRpcUrls ?? {};
  const title = config.appName ?? options.appName ?? 'Payment required';
  const testnet = config.testnet ?? options.testnet ?? false;
  const description = paymentRequired?.resource?.description || requirements[0]?.description || '';
  const resourceUrl = paymentRequired?.resource?.url || config.currentUrl || '';
  const data: PaywallPageData = {
    paymentRequired: paymentRequired as unknown as PaywallPageData['paymentRequired'],
    payers: requirements.map((r) => payerOf(r, paymentRequired.x402Version)),
    solanaRpcUrls,
  };
  const rows = requirements.map((r, i) => optionRow(r, i, assets, data.payers[i] !== null)).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(connectSources(requirements, solanaRpcUrls)))}">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}${testnet ? '<span class="badge">testnet</span>' : ''}</h1>
${description ? `<p class="description" id="x402-description">${escapeHtml(description)}</p>` : ''}
${resourceUrl ? `<p class="resource">${escapeHtml(resourceUrl)}</p>` : ''}
<section id="x402-options">
<p>Pay with any of these (you approve the exact amount in your wallet):</p>
<table>
<thead><tr><th>Network</th><th>Price</th><th>Asset and payee</th><th>Scheme</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>
</section>
<p id="x402-status" class="status" role="status" aria-live="polite"></p>
<section id="x402-result" hidden><h2>Your content</h2><div id="x402-content"></div></section>
<noscript><p>This page needs JavaScript and a browser wallet to pay. Programs can pay with an x402 client: the 402 carries the requirements in its PAYMENT-REQUIRED header.</p></noscript>
<footer>x402 payment · no account, no card: the payment is a signed token transfer.</footer>
</main>
<script type="application/json" id="${DATA_ELEMENT_ID}">${jsonForScript(data)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/**
 * The x402-edge paywall as a @x402/core PaywallProvider: pass it as the `paywall` argument of
 * `paymentMiddleware` (@x402/hono, @x402/express, @x402/next) or to
 * `x402HTTPResourceServer.registerPaywallProvider`.
 */
export function edgePaywall(options: EdgePaywallOptions = {}): PaywallProvider {
  return {
    generateHtml(paymentRequired: PaymentRequired, config?: PaywallConfig): string {
      return renderPaywall(paymentRequired, options, config);
    },
  };
}
