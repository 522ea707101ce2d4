// An x402 `upto` client as the daydreams unified client behaves (protocol digest §6.2): it resolves the
// spender from the facilitator's /supported, signs one EIP-2612 permit for a cap and reuses it for many
// payments until its deadline is near, re-signs (with the token's current nonce) on `cap_exhausted` or
// `session_closed`, and waits and retries on `settling_in_progress`. Test tooling: it pays through the
// facilitator's /settle directly, standing in for the resource server.

import { PERMIT_TYPES } from './chain.mjs';

const NONCES_SELECTOR = '0x7ecebe00';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class UptoClient {
  /**
   * @param {object} o
   * @param {string} o.facilitatorUrl
   * @param {string} o.rpcUrl              to read the token's EIP-2612 nonce
   * @param {import('viem').LocalAccount} o.account   the payer
   * @param {number} o.chainId
   * @param {{name?: string, version?: string}} [o.domain]
   * @param {number} [o.permitSeconds=3600]  how long a permit lives
   * @param {number} [o.settlingRetries=20]
   */
  constructor({ facilitatorUrl, rpcUrl, account, chainId, domain = {}, permitSeconds = 3600, settlingRetries = 20 }) {
    Object.assign(this, { facilitatorUrl, rpcUrl, account, chainId, permitSeconds, settlingRetries });
    this.domain = { name: domain.name ?? 'USD Coin', version: domain.version ?? '2' };
    /** Permits by network/asset/spender: {authorization, signature}. */
    this.permits = new Map();
    /** The deadline of the last permit dropped per network/asset. */
    this.dropped = new Map();
    this.signed = 0;
  }

  async spender(network) {
    const supported = await (await fetch(`${this.facilitatorUrl}/supported`)).json();
    const signers = supported.signers?.[network] ?? supported.signers?.['eip155:*'];
    if (!signers?.length) throw new Error(`the facilitator names no signer for ${network}`);
    return signers[0];
  }

  async nonce(asset) {
    const data = NONCES_SELECTOR + this.account.address.slice(2).toLowerCase().padStart(64, '0');
    const res = await fetch(this.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ to: asset, data }, 'latest'] }),
    });
    return BigInt((await res.json()).result);
  }

  /** The cached permit for these requirements, or a new one for the cap they ask. */
  async permit(requirements) {
    const key = `${requirements.network}/${requirements.asset}`;
    const cached = this.permits.get(key);
    const now = Math.floor(Date.now() / 1000);
    if (cached && Number(cached.authorization.validBefore) > now + 60) return cached;
    const spender = await this.spender(requirements.network);
    const cap = BigInt(requirements.extra?.maxAmountRequired ?? requirements.extra?.maxAmount ?? requirements.amount);
    // A re-signed permit must differ from the one it replaces (same nonce and cap, and signatures are
    // deterministic): otherwise it names the same, exhausted or closed, session.
    const dropped = this.dropped.get(key) ?? 0n;
    let deadline = BigInt(now + this.permitSeconds);
    if (deadline <= dropped) deadline = dropped + 1n;
    const nonce = await this.nonce(requirements.asset);
    const signature = await this.account.signTypedData({
      domain: { ...this.domain, chainId: this.chainId, verifyingContract: requirements.asset },
      types: PERMIT_TYPES,
      primaryType: 'Permit',
      message: { owner: this.account.address, spender, value: cap, nonce, deadline },
    });
    const permit = {
      authorization: {
        from: this.account.address, to: spender, value: cap.toString(), validBefore: deadline.toString(), nonce: nonce.toString(),
      },
      signature,
    };
    this.permits.set(key, permit);
    this.signed += 1;
    return permit;
  }

  /** Pays `requirements` (their `amount`); answers the facilitator's settle reply and its HTTP status. */
  async pay(requirements) {
    let resigned = false;
    for (let attempt = 0; ; attempt++) {
      const permit = await this.permit(requirements);
      const body = {
        x402Version: 2,
        paymentPayload: { x402Version: 2, accepted: requirements, payload: permit },
        paymentRequirements: requirements,
      };
      const res = await fetch(`${this.facilitatorUrl}/settle`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const reply = await res.json();
      if (res.status === 402 && ['cap_exhausted', 'session_closed'].includes(reply.error) && !resigned) {
        const key = `${requirements.network}/${requirements.asset}`;
        this.dropped.set(key, BigInt(this.permits.get(key)?.authorization.validBefore ?? 0));
        this.permits.delete(key);
        resigned = true;
        continue;
      }
      if (res.status === 409 && reply.error === 'settling_in_progress' && attempt < this.settlingRetries) {
        await sleep(100 * Math.min(attempt + 1, 10));
        continue;
      }
      return { status: res.status, reply };
    }
  }
}
