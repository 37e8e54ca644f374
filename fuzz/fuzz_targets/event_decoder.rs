//! Fuzzes everything the bridge decodes from the chain: event payloads, event-CPI inner
//! instructions and whole `getTransaction` answers. None may panic.

#![no_main]

use allot_client::events::{decode_cpi_event, decode_event_data};
use allot_client::transaction_events::events_of_transaction;
use anchor_lang::prelude::Pubkey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_event_data(data);
    let authority = allot_client::pdas::event_authority();
    let _ = decode_cpi_event(&allot::ID, Some(&authority), data);
    let _ = decode_cpi_event(&Pubkey::new_from_array([7; 32]), Some(&authority), data);
    if let Ok(answer) = serde_json::from_slice(data) {
        let _ = events_of_transaction(&answer);
    }
});
