//! Proof that a payment moves value, simulated in one `eth_call` through Multicall3 `aggregate3`:
//! `balanceOf(payee)` and `balanceOf(payer)`, the payment's own calls, then both balances again. A
//! contract posing as a token answers "success" to the payment without moving anything; only the
//! balances before and after tell. The payee's balance must rise by exactly the amount and the
//! payer's fall by it; anything else (no change, another change, a balance that cannot be read, no
//! Multicall3 on the chain) is not a payment the facilitator spends gas on.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;

use super::contracts::{revert_reason, IEip3009Token, IMulticall3, MULTICALL3};
use crate::chains::evm::rpc;
use crate::chains::jsonrpc::RpcError;
use serde_json::Value;

/// One call of an `aggregate3`, allowed to fail (its outcome is read from the results).
pub fn call(target: Address, data: &[u8]) -> IMulticall3::Call3 {
    IMulticall3::Call3 { target, allowFailure: true, callData: data.to_vec().into() }
}

/// Who pays whom how much of which token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Movement {
    pub token: Address,
    pub payer: Address,
    pub payee: Address,
    pub amount: U256,
}

/// The results of a probe: those of the calls before the balances (a wallet deployment, its
/// signature check), those of the payment's own calls, and the four balances.
#[derive(Clone)]
pub struct ProbeResults {
    pub before: Vec<IMulticall3::Result>,
    pub steps: Vec<IMulticall3::Result>,
    balances: [Option<U256>; 4],
}

/// Why a probe shows no payment.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    /// The node failed (not the contracts).
    #[error("chain RPC failed: {0}")]
    Node(RpcError),
    /// The answer is not `aggregate3`'s: no Multicall3 where it was called, or it reverted.
    #[error("{0}")]
    Undecodable(String),
}

impl Movement {
    /// `aggregate3(before ++ [balanceOf(payee), balanceOf(payer)] ++ steps ++ [the same balances])`.
    pub fn aggregate3(&self, before: Vec<IMulticall3::Call3>, steps: Vec<IMulticall3::Call3>) -> Vec<u8> {
        let balances = [self.payee, self.payer]
            .map(|account| call(self.token, &IEip3009Token::balanceOfCall { account }.abi_encode()));
        let mut calls = before;
        calls.extend(balances.clone());
        calls.extend(steps);
        calls.extend(balances);
        IMulticall3::aggregate3Call { calls }.abi_encode()
    }

    /// Splits the answer to [`Self::aggregate3`] with `before` and `steps` calls.
    pub fn results(
        &self,
        answer: &Result<Value, RpcError>,
        before: usize,
        steps: usize,
    ) -> Result<ProbeResults, ProbeError> {
        let value = match answer {
            Ok(value) => value,
            Err(e) if rpc::is_revert(e) => {
                return Err(ProbeError::Undecodable(format!("the Multicall3 simulation reverted: {e}")))
            }
            Err(e) => return Err(ProbeError::Node(e.clone())),
        };
        let decoded = rpc::data(value).ok().and_then(|d| IMulticall3::aggregate3Call::abi_decode_returns(&d).ok());
        let mut results = match decoded {
            Some(results) if results.len() == before + steps + 4 => results,
            _ => return Err(ProbeError::Undecodable(format!("no Multicall3 answered at {MULTICALL3} on this chain"))),
        };
        let balance = |r: &IMulticall3::Result| {
            r.success.then(|| IEip3009Token::balanceOfCall::abi_decode_returns(&r.returnData).ok()).flatten()
        };
        let after: Vec<_> = results.split_off(before + 2 + steps);
        let steps_and_before: Vec<_> = results.split_off(before);
        let (first, steps) = steps_and_before.split_at(2);
        let balances = [balance(&first[0]), balance(&first[1]), balance(&after[0]), balance(&after[1])];
        Ok(ProbeResults { before: results, steps: steps.to_vec(), balances })
    }
}

impl ProbeResults {
    /// Ok when the payee gained exactly `amount` and the payer lost exactly `amount`; else what the
    /// simulation showed instead.
    pub fn check_moved(&self, amount: U256) -> Result<(), String> {
        let [Some(payee_before), Some(payer_before), Some(payee_after), Some(payer_after)] = self.balances else {
            return Err("the token's balanceOf did not answer with a uint256".into());
        };
        let gained = payee_after.checked_sub(payee_before);
        let lost = payer_before.checked_sub(payer_after);
        if gained == Some(amount) && lost == Some(amount) {
            return Ok(());
        }
        Err(format!(
            "payTo's balance went from {payee_before} to {payee_after} and the payer's from {payer_before} to \
             {payer_after}, not by {amount}"
        ))
    }

    /// The revert reason of a step that failed, if one did.
    pub fn failed_step(&self) -> Option<String> {
        self.steps.iter().find(|r| !r.success).map(|r| revert_reason(&r.returnData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_sol_types::SolValue;

    fn movement() -> Movement {
        Movement {
            token: Address::repeat_byte(1),
            payer: Address::repeat_byte(2),
            payee: Address::repeat_byte(3),
            amount: U256::from(10),
        }
    }

    fn ok(data: Vec<u8>) -> IMulticall3::Result {
        IMulticall3::Result { success: true, returnData: data.into() }
    }

    fn answer(results: Vec<IMulticall3::Result>) -> Result<Value, RpcError> {
        Ok(Value::String(format!("0x{}", hex::encode(results.abi_encode()))))
    }

    fn balances(payee: [u64; 2], payer: [u64; 2], step: IMulticall3::Result) -> Vec<IMulticall3::Result> {
        let word = |n: u64| ok(U256::from(n).abi_encode());
        vec![word(payee[0]), word(payer[0]), step, word(payee[1]), word(payer[1])]
    }

    #[test]
    fn only_the_exact_amount_from_payer_to_payee_is_a_payment() {
        let m = movement();
        let check =
            |payee, payer| m.results(&answer(balances(payee, payer, ok(vec![]))), 0, 1).unwrap().check_moved(m.amount);
        assert_eq!(check([5, 15], [100, 90]), Ok(()));
        assert!(check([5, 5], [100, 100]).is_err(), "nothing moved");
        assert!(check([5, 14], [100, 90]).is_err(), "a fee on transfer");
        assert!(check([5, 15], [100, 100]).is_err(), "minted, not paid");
        assert!(check([15, 5], [90, 100]).is_err(), "the other way round");
    }

    #[test]
    fn undecodable_answers_are_no_payment() {
        let m = movement();
        let empty = Ok(Value::String("0x".into()));
        assert!(matches!(m.results(&empty, 0, 1), Err(ProbeError::Undecodable(_))), "no Multicall3");
        let short = answer(balances([0, 1], [1, 0], ok(vec![]))[..4].to_vec());
        assert!(matches!(m.results(&short, 0, 1), Err(ProbeError::Undecodable(_))));
        let mut words = balances([5, 15], [100, 90], ok(vec![]));
        words[3] = ok(vec![1, 2, 3]);
        assert!(
            m.results(&answer(words), 0, 1).unwrap().check_moved(m.amount).is_err(),
            "a balance that is no uint256"
        );
        let node = Err(RpcError::Malformed("down".into()));
        assert!(matches!(m.results(&node, 0, 1), Err(ProbeError::Node(_))));
    }

    #[test]
    fn results_are_split_into_before_steps_and_balances() {
        let m = movement();
        let mut all = vec![ok(vec![7])];
        all.extend(balances([0, 10], [10, 0], IMulticall3::Result { success: false, returnData: vec![].into() }));
        let results = m.results(&answer(all), 1, 1).unwrap();
        assert_eq!(results.before.len(), 1);
        assert_eq!(results.before[0].returnData.as_ref(), &[7]);
        assert!(results.failed_step().is_some());
        assert_eq!(results.check_moved(U256::from(10)), Ok(()));
        let calldata = m.aggregate3(vec![call(Address::ZERO, &[1])], vec![call(m.token, &[2])]);
        let decoded = IMulticall3::aggregate3Call::abi_decode(&calldata).unwrap();
        assert_eq!(decoded.calls.len(), 6);
        assert_eq!(decoded.calls[3].callData.as_ref(), &[2]);
    }
}
