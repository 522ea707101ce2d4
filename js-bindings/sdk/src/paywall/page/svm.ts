// Solana payments from the page: a Wallet Standard wallet (Phantom, Solflare, Backpack, … all register
// themselves that way) signs the transaction the official @x402/svm client scheme builds. No adapter
// library: the Wallet Standard's discovery is two window events, and signing is one feature call.
import { getTransactionDecoder, getTransactionEncoder, type Address, type SignatureDictionary, type Transaction, type TransactionPartialSigner } from '@solana/kit';

/** The parts of a Wallet Standard wallet the page uses. */
export interface StandardWallet {
  name: string;
  chains: readonly string[];
  accounts: readonly StandardAccount[];
  features: Record<string, unknown>;
}
interface StandardAccount {
  address: string;
  chains: readonly string[];
}
interface ConnectFeature {
  connect(input?: { silent?: boolean }): Promise<{ accounts: readonly StandardAccount[] }>;
}
interface SignTransactionFeature {
  signTransaction(...inputs: Array<{ account: StandardAccount; transaction: Uint8Array; chain?: string }>): Promise<ReadonlyArray<{ signedTransaction: Uint8Array }>>;
}

/** The Wallet Standard chain of a CAIP-2 Solana network (the standard names clusters, not genesis hashes). */
const STANDARD_CHAINS: Record<string, string> = {
  'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp': 'solana:mainnet',
  'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1': 'solana:devnet',
  'solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z': 'solana:testnet',
};

export const standardChain = (network: string): string | undefined => STANDARD_CHAINS[network];

const wallets: StandardWallet[] = [];

/**
 * Starts Wallet Standard discovery: wallets that load later announce themselves with
 * `wallet-standard:register-wallet`; the ones already loaded answer `wallet-standard:app-ready`.
 */
export function discoverSolanaWallets(onChange: () => void): void {
  const api = {
    register(...added: StandardWallet[]) {
      for (const w of added) if (!wallets.includes(w)) wallets.push(w);
      onChange();
      return () => {
        for (const w of added) wallets.splice(wallets.indexOf(w), 1);
        onChange();
      };
    },
  };
  window.addEventListener('wallet-standard:register-wallet', (event) => {
    const callback = (event as CustomEvent<(api: unknown) => void>).detail;
    if (typeof callback === 'function') callback(api);
  });
  window.dispatchEvent(new CustomEvent('wallet-standard:app-ready', { detail: api }));
}

/** The discovered wallets that can sign Solana transactions. */
export function solanaWallets(): StandardWallet[] {
  return wallets.filter((w) => w.features['standard:connect'] && w.features['solana:signTransaction'] && w.chains.some((c) => c.startsWith('solana:')));
}

/**
 * Connects `wallet` and returns a kit partial signer for the @x402/svm client scheme: each transaction
 * goes to the wallet as wire bytes (the facilitator's fee-payer signature still empty), and only the
 * wallet account's signature is taken back.
 */
export async function connectSolana(wallet: StandardWallet, network: string): Promise<TransactionPartialSigner> {
  const { accounts } = await (wallet.features['standard:connect'] as ConnectFeature).connect();
  const account = accounts[0];
  if (!account) throw new Error(`${wallet.name} gave no account`);
  const feature = wallet.features['solana:signTransaction'] as SignTransactionFeature;
  const chain = standardChain(network);
  const address = account.address as Address;
  return {
    address,
    async signTransactions(transactions: readonly Transaction[]): Promise<readonly SignatureDictionary[]> {
      const encoder = getTransactionEncoder();
      const decoder = getTransactionDecoder();
      const inputs = transactions.map((tx) => ({ account, transaction: new Uint8Array(encoder.encode(tx)), ...(chain ? { chain } : {}) }));
      const signed = await feature.signTransaction(...inputs);
      return signed.map(({ signedTransaction }) => {
        const signature = decoder.decode(signedTransaction).signatures[address];
        if (!signature) throw new Error(`${wallet.name} did not sign for ${address}`);
        return { [address]: signature } as SignatureDictionary;
      });
    },
  };
}
