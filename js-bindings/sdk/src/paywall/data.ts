// What the server puts into the page for its script: the 402's PaymentRequired and, per accepted option,
// which wallet family pays it. Shared by the server side (../index.ts) and the page's script.

/** The JSON in `<script type="application/json" id="x402-paywall-data">`. */
export interface PaywallPageData {
  /** The PaymentRequired of the 402, as the middleware built it (v2, or v1 with `maxAmountRequired`). */
  paymentRequired: {
    x402Version: number;
    accepts: Array<{ scheme: string; network: string; [key: string]: unknown }>;
    [key: string]: unknown;
  };
  /** Per entry of `accepts`: the wallet family that pays it from this page, or null when none can. */
  payers: Array<'evm' | 'svm' | null>;
  /** Solana RPC URL per CAIP-2 network, for the page to fetch a recent blockhash (none: the public one). */
  solanaRpcUrls: Record<string, string>;
}

/** The id of the data element. */
export const DATA_ELEMENT_ID = 'x402-paywall-data';
