//! Decoding allot events from transaction log lines, for programs built with `emit!` (which logs
//! `Program data: <base64>` through `sol_log_data`) — the fallback when inner instructions are
//! not available. Logs can be truncated by the validator (10 KB per transaction by default) and
//! any program can write lines, so only `Program data:` lines written while allot itself is the
//! executing program (tracked from the `invoke` / `success` / `failed` lines) are accepted, and a
//! truncation is reported rather than hidden.

use anchor_lang::prelude::Pubkey;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::events::{AllotEvent, EventDecodeError, decode_event_data};

/// The events found in a transaction's logs.
#[derive(Debug, Default, PartialEq)]
pub struct LogEvents {
    /// Each allot `Program data:` line, decoded (an error when its payload is not understood).
    pub events: Vec<Result<AllotEvent, EventDecodeError>>,
    /// The validator cut the logs short: events after the cut are missing.
    pub truncated: bool,
}

/// Decodes the allot events in `logs` (as `getTransaction(...).meta.logMessages` returns them).
pub fn decode_log_events(logs: &[String]) -> LogEvents {
    let mut found = LogEvents::default();
    let mut stack: Vec<Pubkey> = Vec::new();
    for line in logs {
        if line == "Log truncated" {
            found.truncated = true;
            break;
        }
        let Some(rest) = line.strip_prefix("Program ") else {
            continue;
        };
        if let Some(data) = rest.strip_prefix("data: ") {
            if stack.last() == Some(&allot::ID) {
                found.events.push(decode_data_line(data));
            }
            continue;
        }
        let mut words = rest.split(' ');
        let (Some(program), Some(verb)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(program) = program.parse::<Pubkey>() else {
            continue;
        };
        match verb {
            "invoke" => stack.push(program),
            "success" | "failed:" if stack.last() == Some(&program) => {
                stack.pop();
            }
            _ => {}
        }
    }
    found
}

/// `sol_log_data` writes each slice as base64, space-separated; `emit!` writes one slice.
fn decode_data_line(data: &str) -> Result<AllotEvent, EventDecodeError> {
    let mut bytes = Vec::new();
    for part in data.split(' ') {
        let decoded = STANDARD
            .decode(part)
            .map_err(|e| EventDecodeError::Malformed {
                name: "Program data",
                reason: e.to_string(),
            })?;
        bytes.extend(decoded);
    }
    decode_event_data(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot::events::PoolPauseChanged;
    use anchor_lang::Event;

    fn data_line(event: &impl Event) -> String {
        format!("Program data: {}", STANDARD.encode(event.data()))
    }

    fn invoke(program: &Pubkey, depth: u8) -> String {
        format!("Program {program} invoke [{depth}]")
    }

    #[test]
    fn data_lines_of_allot_decode_and_others_are_ignored() {
        let ours = PoolPauseChanged {
            pool: Pubkey::new_unique(),
            paused: true,
        };
        let forged = PoolPauseChanged {
            pool: Pubkey::new_unique(),
            paused: false,
        };
        let token = Pubkey::new_unique();
        let other = Pubkey::new_unique();
        let logs = vec![
            invoke(&other, 1),
            data_line(&forged),
            format!("Program {other} success"),
            invoke(&allot::ID, 1),
            "Program log: Instruction: PoolSetPaused".to_string(),
            invoke(&token, 2),
            data_line(&forged),
            format!("Program {token} success"),
            data_line(&ours),
            format!(
                "Program {} consumed 5000 of 200000 compute units",
                allot::ID
            ),
            format!("Program {} success", allot::ID),
            data_line(&forged),
        ];
        let found = decode_log_events(&logs);
        assert_eq!(found.events, vec![Ok(AllotEvent::PoolPauseChanged(ours))]);
        assert!(!found.truncated);
    }

    #[test]
    fn truncation_is_reported_and_bad_payloads_are_errors() {
        let logs = vec![
            invoke(&allot::ID, 1),
            "Program data: !!!".to_string(),
            "Log truncated".to_string(),
        ];
        let found = decode_log_events(&logs);
        assert!(found.truncated);
        assert!(matches!(
            found.events.as_slice(),
            [Err(EventDecodeError::Malformed { .. })]
        ));
    }
}
