//! Decoding allot events from the inner instructions that `emit_cpi!` produces.
//!
//! An event arrives as the data of a self-invocation of the program whose first account is the
//! event authority PDA: `EVENT_IX_TAG_LE (8 bytes) ‖ event discriminator (8) ‖ borsh fields`.
//! Only invocations that match all three (program, authority, tag) are accepted, so another
//! program cannot forge allot events.

use allot::events::*;
use anchor_lang::event::EVENT_IX_TAG_LE;
use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, Discriminator};

use crate::pdas;

/// Why bytes that claimed to be an allot event could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventDecodeError {
    /// The discriminator names no allot event.
    #[error("unknown event discriminator {0:?}")]
    UnknownDiscriminator([u8; 8]),
    /// The data is shorter than a discriminator.
    #[error("event data is {0} bytes, shorter than a discriminator")]
    TooShort(usize),
    /// The fields do not deserialize.
    #[error("event {name} does not deserialize: {reason}")]
    Malformed {
        /// The event type.
        name: &'static str,
        /// The deserializer's message.
        reason: String,
    },
}

macro_rules! allot_events {
    ($($name:ident),* $(,)?) => {
        /// Every event the program emits.
        #[derive(Debug, Clone, PartialEq)]
        pub enum AllotEvent {
            $(
                #[doc = concat!("A [`", stringify!($name), "`] event.")]
                $name($name),
            )*
        }

        /// Decodes `discriminator ‖ borsh fields` (the bytes after the event-CPI tag).
        pub fn decode_event_data(data: &[u8]) -> Result<AllotEvent, EventDecodeError> {
            let (disc, mut fields) = data
                .split_at_checked(8)
                .ok_or(EventDecodeError::TooShort(data.len()))?;
            $(
                if disc == $name::DISCRIMINATOR {
                    return $name::deserialize(&mut fields)
                        .map(AllotEvent::$name)
                        .map_err(|e| EventDecodeError::Malformed {
                            name: stringify!($name),
                            reason: e.to_string(),
                        });
                }
            )*
            let mut unknown = [0u8; 8];
            unknown.copy_from_slice(disc);
            Err(EventDecodeError::UnknownDiscriminator(unknown))
        }
    };
}

allot_events!(
    PoolCreated,
    PoolRuleUpdated,
    PoolPauseChanged,
    PoolTransfersPauseChanged,
    PoolMetadataSet,
    PoolAttestationSet,
    PoolFunded,
    OperatorTransferProposed,
    OperatorTransferred,
    VerifierAdded,
    VerifierActiveChanged,
    CredentialIssued,
    CredentialRevoked,
    CredentialClosed,
    UserListPublished,
    Allocated,
    ClawedBack,
    ExchangeConfigured,
    ProfitReported,
    RateUpdated,
    ExchangeRequested,
    ExchangeLocked,
    ExchangeSettled,
    ExchangeCancelled,
    ExchangeRejected,
    ExchangeRequestClosed,
    ShardCreated,
    ShardFunded,
    ShardDrained,
    ShardSwept,
    PoolRetired,
    AllocationRecordClosed,
);

/// Decodes an inner instruction as an allot event, if it is one: `program_id` is the invoked
/// program, `first_account` its first account, `data` its data. Returns `None` for any other
/// instruction; `Some(Err)` when it is an allot event-CPI whose payload is not understood.
pub fn decode_cpi_event(
    program_id: &Pubkey,
    first_account: Option<&Pubkey>,
    data: &[u8],
) -> Option<Result<AllotEvent, EventDecodeError>> {
    if *program_id != allot::ID || first_account != Some(&pdas::event_authority()) {
        return None;
    }
    let payload = data.strip_prefix(EVENT_IX_TAG_LE)?;
    Some(decode_event_data(payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::AnchorSerialize;

    fn cpi_data(event: &impl AnchorSerialize, disc: &[u8]) -> Vec<u8> {
        let mut data = EVENT_IX_TAG_LE.to_vec();
        data.extend_from_slice(disc);
        event.serialize(&mut data).unwrap();
        data
    }

    #[test]
    fn event_cpi_from_the_program_decodes() {
        let event = PoolPauseChanged {
            pool: Pubkey::new_unique(),
            paused: true,
        };
        let data = cpi_data(&event, PoolPauseChanged::DISCRIMINATOR);
        let decoded = decode_cpi_event(&allot::ID, Some(&pdas::event_authority()), &data);
        assert_eq!(decoded, Some(Ok(AllotEvent::PoolPauseChanged(event))));
    }

    #[test]
    fn same_bytes_from_another_program_or_authority_are_ignored() {
        let event = PoolPauseChanged {
            pool: Pubkey::new_unique(),
            paused: false,
        };
        let data = cpi_data(&event, PoolPauseChanged::DISCRIMINATOR);
        let other = Pubkey::new_unique();
        assert_eq!(
            decode_cpi_event(&other, Some(&pdas::event_authority()), &data),
            None
        );
        assert_eq!(decode_cpi_event(&allot::ID, Some(&other), &data), None);
        assert_eq!(decode_cpi_event(&allot::ID, None, &data), None);
    }

    #[test]
    fn unknown_and_truncated_payloads_are_errors() {
        let mut data = EVENT_IX_TAG_LE.to_vec();
        data.extend_from_slice(&[9; 8]);
        assert_eq!(
            decode_cpi_event(&allot::ID, Some(&pdas::event_authority()), &data),
            Some(Err(EventDecodeError::UnknownDiscriminator([9; 8])))
        );
        let truncated = &cpi_data(
            &PoolFunded {
                pool: Pubkey::new_unique(),
                amount: 1,
                total_minted: 1,
            },
            PoolFunded::DISCRIMINATOR,
        )[..20];
        assert!(matches!(
            decode_cpi_event(&allot::ID, Some(&pdas::event_authority()), truncated),
            Some(Err(EventDecodeError::Malformed {
                name: "PoolFunded",
                ..
            }))
        ));
    }
}
