// Session budgets in the gateway (BUDGETS=true): the price of a payment is reserved under every budget of
// its agents (the `X-Agent-Key` and the payer the payment names) before the payment is verified, and given
// back unless it settled. Stores and SQL: @x402-edge/sdk/tracking's BudgetStore.

import type { PaymentPayload } from '@x402/core/types';
import { budgetAmount, keyAgent, payerAgent, type PaymentTrace, type Reserve } from '@x402-edge/sdk/tracking';

import { json, logFailure, type Refuse, settledBy } from './responses';
import { payerOf, type Tracking } from './tracking';

/** The request header that names an agent's API key for session budgets (stored only as its SHA-256). */
const AGENT_KEY_HEADER = 'x-agent-key';

/**
 * Runs `serve` under the session budgets of the request's agents: refused with 402 `budget_exceeded` past a
 * budget. A store that fails refuses (503): a budget is a limit, and is not skipped.
 */
export async function withinBudget(
  tracking: Tracking | null,
  request: Request,
  payload: PaymentPayload,
  trace: PaymentTrace | null,
  refuse: Refuse,
  serve: () => Promise<Response>,
): Promise<Response> {
  const amount = budgetAmount(String(payload.accepted.amount ?? ''));
  if (!tracking || amount === null) return serve();
  const key = request.headers.get(AGENT_KEY_HEADER);
  const payer = payerOf(payload);
  const agents = [...(key ? [await keyAgent(key)] : []), ...(payer ? [payerAgent(payer)] : [])];
  if (agents.length === 0) return serve();
  let reserved: Reserve;
  try {
    await tracking.ready();
    reserved = await tracking.budgets.reserve(agents, payload.accepted.network, payload.accepted.asset, amount, Date.now());
  } catch (e) {
    logFailure('the budget store failed')(e);
    trace?.verified('error', 'budgets_unavailable', 0);
    return json(503, { error: 'budgets_unavailable', message: 'the session budget could not be checked; try again' });
  }
  if (!reserved.ok) {
    const { budget } = reserved;
    trace?.verified('invalid', 'budget_exceeded', 0);
    const who = reserved.agent.startsWith('key:') ? 'this API key' : 'this payer';
    const resets = new Date(budget.windowStartMs + budget.windowSeconds * 1000).toISOString();
    return refuse('budget_exceeded', `${who} has spent ${budget.spent} of ${budget.limit} on ${budget.network} ${budget.asset} in this window (until ${resets}); the price is ${amount}`);
  }
  const response = await serve();
  if (!settledBy(response)) await tracking.budgets.release(reserved.reservation).catch(logFailure('a budget reservation was not given back'));
  return response;
}
