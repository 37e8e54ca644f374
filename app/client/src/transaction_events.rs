//! The allot events of a confirmed transaction as `getTransaction` returns it, decoded from its
//! inner instructions (`emit_cpi!` self-invocations through the event-authority PDA). The program
//! emits every event that way and never with `emit!`, so log lines hold no allot event (and logs
//! can be truncated, inner instructions cannot): a node that returns no inner instructions is an
//! error, not a transaction without events. Failed transactions carry no events: nothing they did
//! was kept.

use anchor_lang::prelude::Pubkey;
use solana_transaction_status_client_types::option_serializer::OptionSerializer;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, UiInstruction,
};

use crate::events::{AllotEvent, EventDecodeError, decode_cpi_event};

/// What a confirmed transaction says about allot.
#[derive(Debug, Default, PartialEq)]
pub struct TransactionEvents {
    /// The slot it landed in.
    pub slot: u64,
    /// The transaction failed: its events (none are returned) never happened.
    pub failed: bool,
    /// The allot events, in order.
    pub events: Vec<AllotEvent>,
    /// Allot event-CPIs whose payload was not understood.
    pub undecodable: Vec<EventDecodeError>,
}

/// Why a transaction could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransactionEventsError {
    /// The node returned no status meta.
    #[error("the transaction has no status meta")]
    NoMeta,
    /// The transaction's bytes did not decode: not a binary encoding (ask for base64), or bytes
    /// that are not a transaction.
    #[error(
        "the transaction's bytes do not decode (expected a base64-encoded transaction; request encoding base64)"
    )]
    NotBinary,
    /// An address in the meta or an index into the keys is invalid.
    #[error("the transaction's accounts are inconsistent: {0}")]
    BadAccounts(String),
    /// The node returned no inner instructions, where allot's events are: use a node that
    /// records them (every current Agave node does).
    #[error(
        "the node returned the transaction without its inner instructions, where allot's events are"
    )]
    NoInnerInstructions,
}

/// Decodes the allot events of `transaction`.
pub fn events_of_transaction(
    transaction: &EncodedConfirmedTransactionWithStatusMeta,
) -> Result<TransactionEvents, TransactionEventsError> {
    let meta = transaction
        .transaction
        .meta
        .as_ref()
        .ok_or(TransactionEventsError::NoMeta)?;
    let mut found = TransactionEvents {
        slot: transaction.slot,
        ..TransactionEvents::default()
    };
    if meta.err.is_some() {
        found.failed = true;
        return Ok(found);
    }
    let decoded = transaction
        .transaction
        .transaction
        .decode()
        .ok_or(TransactionEventsError::NotBinary)?;
    let mut keys: Vec<Pubkey> = decoded.message.static_account_keys().to_vec();
    if let OptionSerializer::Some(loaded) = &meta.loaded_addresses {
        for key in loaded.writable.iter().chain(&loaded.readonly) {
            keys.push(
                key.parse()
                    .map_err(|_| TransactionEventsError::BadAccounts(key.clone()))?,
            );
        }
    }
    let key = |index: u8| {
        keys.get(usize::from(index))
            .ok_or_else(|| TransactionEventsError::BadAccounts(format!("index {index}")))
    };
    match &meta.inner_instructions {
        OptionSerializer::Some(inner) => {
            for instruction in inner.iter().flat_map(|set| &set.instructions) {
                let UiInstruction::Compiled(compiled) = instruction else {
                    continue;
                };
                let program = key(compiled.program_id_index)?;
                let first = compiled.accounts.first().map(|i| key(*i)).transpose()?;
                let Ok(data) = bs58::decode(&compiled.data).into_vec() else {
                    continue;
                };
                match decode_cpi_event(program, first, &data) {
                    Some(Ok(event)) => found.events.push(event),
                    Some(Err(error)) => found.undecodable.push(error),
                    None => {}
                }
            }
        }
        _ => return Err(TransactionEventsError::NoInnerInstructions),
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot::events::PoolPauseChanged;
    use anchor_lang::event::EVENT_IX_TAG_LE;
    use anchor_lang::{AnchorSerialize, Discriminator};
    use base64::Engine;
    use solana_sdk::instruction::Instruction;
    use solana_sdk::signature::{Keypair, Signer};
    use solana_sdk::transaction::Transaction;

    use crate::pdas;

    /// A `getTransaction` answer (encoding base64) whose inner instructions are `inner`, given
    /// as (program, first account, data), with `err` as the status.
    fn answer(
        inner: &[(Pubkey, Pubkey, Vec<u8>)],
        err: serde_json::Value,
    ) -> EncodedConfirmedTransactionWithStatusMeta {
        let payer = Keypair::new();
        let outer = Instruction::new_with_bytes(allot::ID, &[], vec![]);
        let mut transaction = Transaction::new_with_payer(&[outer], Some(&payer.pubkey()));
        for (program, first, _) in inner {
            for key in [program, first] {
                if !transaction.message.account_keys.contains(key) {
                    transaction.message.account_keys.push(*key);
                }
            }
        }
        transaction.signatures = vec![payer.sign_message(&transaction.message_data())];
        let keys = transaction.message.account_keys.clone();
        let index = |key: &Pubkey| keys.iter().position(|k| k == key).unwrap();
        let bytes = bincode::serialize(&transaction).unwrap();
        let instructions: Vec<serde_json::Value> = inner
            .iter()
            .map(|(program, first, data)| {
                serde_json::json!({
                    "programIdIndex": index(program),
                    "accounts": [index(first)],
                    "data": bs58::encode(data).into_string(),
                    "stackHeight": 2,
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "slot": 42,
            "transaction": [base64::engine::general_purpose::STANDARD.encode(bytes), "base64"],
            "meta": {
                "err": err,
                "status": {"Ok": null},
                "fee": 5000,
                "preBalances": [],
                "postBalances": [],
                "innerInstructions": [{"index": 0, "instructions": instructions}],
                "logMessages": [],
            },
        }))
        .unwrap()
    }

    fn event_data(event: &PoolPauseChanged) -> Vec<u8> {
        let mut data = EVENT_IX_TAG_LE.to_vec();
        data.extend_from_slice(PoolPauseChanged::DISCRIMINATOR);
        event.serialize(&mut data).unwrap();
        data
    }

    #[test]
    fn inner_instruction_events_decode_and_forgeries_are_ignored() {
        let ours = PoolPauseChanged {
            pool: Pubkey::new_unique(),
            paused: true,
        };
        let forged = PoolPauseChanged {
            pool: Pubkey::new_unique(),
            paused: false,
        };
        let authority = pdas::event_authority();
        let other_program = Pubkey::new_unique();
        let tx = answer(
            &[
                (other_program, authority, event_data(&forged)),
                (allot::ID, Pubkey::new_unique(), event_data(&forged)),
                (allot::ID, authority, event_data(&ours)),
            ],
            serde_json::Value::Null,
        );
        let found = events_of_transaction(&tx).unwrap();
        assert_eq!(found.slot, 42);
        assert!(!found.failed);
        assert_eq!(found.events, vec![AllotEvent::PoolPauseChanged(ours)]);
    }

    #[test]
    fn failed_transactions_carry_no_events() {
        let event = PoolPauseChanged {
            pool: Pubkey::new_unique(),
            paused: true,
        };
        let tx = answer(
            &[(allot::ID, pdas::event_authority(), event_data(&event))],
            serde_json::json!({"InstructionError": [0, {"Custom": 6000}]}),
        );
        let found = events_of_transaction(&tx).unwrap();
        assert!(found.failed);
        assert!(found.events.is_empty());
    }

    #[test]
    fn a_node_without_inner_instructions_is_an_error_not_an_empty_transaction() {
        let event = PoolPauseChanged {
            pool: Pubkey::new_unique(),
            paused: true,
        };
        let mut tx = answer(
            &[(allot::ID, pdas::event_authority(), event_data(&event))],
            serde_json::Value::Null,
        );
        if let Some(meta) = tx.transaction.meta.as_mut() {
            meta.inner_instructions = OptionSerializer::None;
        }
        assert_eq!(
            events_of_transaction(&tx),
            Err(TransactionEventsError::NoInnerInstructions)
        );
    }
}
