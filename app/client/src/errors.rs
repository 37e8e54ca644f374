//! Turning the error codes a transaction returns into messages a person can act on.

use allot::error::AllotError;
use anchor_lang::error::ErrorCode as AnchorErrorCode;

/// A decoded program error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgramFailure {
    /// One of allot's own errors.
    #[error("allot error {code} {name}: {message}")]
    Allot {
        /// The custom error code.
        code: u32,
        /// The variant name, e.g. `AlreadyAllocatedThisPeriod`.
        name: String,
        /// Its message.
        message: String,
    },
    /// An error raised by Anchor's account checks (codes below 6000).
    #[error("anchor error {code}: {meaning}")]
    Anchor {
        /// The error code.
        code: u32,
        /// What the code range means.
        meaning: &'static str,
    },
    /// An error raised in a program allot called (codes below 100: Token-2022's and SPL
    /// Token's, e.g. a paused mint; the System and Associated Token programs use the lowest
    /// few codes too, so the code alone cannot say which program raised it).
    #[error("error {code} from a program allot called (as Token-2022's: {message})")]
    Token {
        /// The error code.
        code: u32,
        /// Token-2022's message, and what to do when allot knows.
        message: String,
    },
}

/// Codes below this are the token programs' own (`TokenError`); Anchor's start at 100.
const TOKEN_ERROR_CODES: u32 = 100;

/// What Anchor's error code ranges mean (see `anchor_lang::error::ErrorCode`).
fn anchor_meaning(code: u32) -> &'static str {
    match code {
        c if c == u32::from(AnchorErrorCode::ConstraintHasOne) => {
            "an account does not belong to the expected pool, mint, vault or operator"
        }
        c if c == u32::from(AnchorErrorCode::ConstraintSeeds) => {
            "an account is not the program-derived address expected for this pool and user"
        }
        c if c == u32::from(AnchorErrorCode::AccountOwnedByWrongProgram) => {
            "an account is owned by the wrong program (forged or substituted account)"
        }
        c if c == u32::from(AnchorErrorCode::AccountDiscriminatorMismatch) => {
            "an account has the wrong type"
        }
        c if c == u32::from(AnchorErrorCode::AccountNotSigner) => "a required signature is missing",
        c if c == u32::from(AnchorErrorCode::AccountNotInitialized) => {
            "an account the instruction needs does not exist yet"
        }
        100..=999 => "invalid instruction",
        1000..=1999 => "invalid IDL instruction",
        2000..=2999 => "an account constraint was violated",
        3000..=3999 => "an account is invalid",
        4000..=4999 => "state error",
        _ => "unknown Anchor error",
    }
}

/// The Anchor errors an account check or constraint of allot can raise, for naming them by code.
const ANCHOR_ERRORS: &[AnchorErrorCode] = &[
    AnchorErrorCode::InstructionDidNotDeserialize,
    AnchorErrorCode::ConstraintMut,
    AnchorErrorCode::ConstraintHasOne,
    AnchorErrorCode::ConstraintSigner,
    AnchorErrorCode::ConstraintRaw,
    AnchorErrorCode::ConstraintOwner,
    AnchorErrorCode::ConstraintSeeds,
    AnchorErrorCode::ConstraintAssociated,
    AnchorErrorCode::ConstraintClose,
    AnchorErrorCode::ConstraintAddress,
    AnchorErrorCode::ConstraintTokenMint,
    AnchorErrorCode::ConstraintTokenOwner,
    AnchorErrorCode::ConstraintTokenTokenProgram,
    AnchorErrorCode::ConstraintMintTokenProgram,
    AnchorErrorCode::ConstraintAssociatedTokenTokenProgram,
    AnchorErrorCode::ConstraintDuplicateMutableAccount,
    AnchorErrorCode::RequireKeysEqViolated,
    AnchorErrorCode::AccountDiscriminatorNotFound,
    AnchorErrorCode::AccountDiscriminatorMismatch,
    AnchorErrorCode::AccountDidNotDeserialize,
    AnchorErrorCode::AccountNotEnoughKeys,
    AnchorErrorCode::AccountNotMutable,
    AnchorErrorCode::AccountOwnedByWrongProgram,
    AnchorErrorCode::InvalidProgramId,
    AnchorErrorCode::InvalidProgramExecutable,
    AnchorErrorCode::AccountNotSigner,
    AnchorErrorCode::AccountNotSystemOwned,
    AnchorErrorCode::AccountNotInitialized,
    AnchorErrorCode::AccountNotAssociatedTokenAccount,
];

/// The variant name of Anchor error `code` (e.g. `ConstraintSeeds`), when it is one allot's
/// account checks raise.
pub fn anchor_error_name(code: u32) -> Option<String> {
    ANCHOR_ERRORS
        .iter()
        .find(|error| u32::from(**error) == code)
        .map(|error| error.name())
}

/// Decodes a custom error code from an allot transaction.
pub fn decode(code: u32) -> ProgramFailure {
    if code < TOKEN_ERROR_CODES {
        return ProgramFailure::Token {
            code,
            message: token_message(code),
        };
    }
    match AllotError::from_code(code) {
        Some(error) => ProgramFailure::Allot {
            code,
            name: error.name(),
            message: error.to_string(),
        },
        None => ProgramFailure::Anchor {
            code,
            meaning: anchor_meaning(code),
        },
    }
}

/// Token-2022's message for its error `code` (SPL Token's codes mean the same), with what to do
/// when the cause is one of allot's settings.
fn token_message(code: u32) -> String {
    use anchor_spl::token_2022::spl_token_2022::error::TokenError;
    match TokenError::try_from(code) {
        Ok(TokenError::MintPaused) => format!(
            "{}; the pool's operator paused its units: `allot operator resume-transfers`",
            TokenError::MintPaused
        ),
        Ok(error) => error.to_string(),
        Err(_) => "unknown".to_owned(),
    }
}

/// A refusal from one of the program's decision functions (`allot::state::check_*`), in the
/// words a person reads: allot's own message, else the decoded code.
pub fn refusal(error: &anchor_lang::error::Error) -> String {
    match error {
        anchor_lang::error::Error::AnchorError(e) => match decode(e.error_code_number) {
            ProgramFailure::Allot { message, .. } => message,
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allot_codes_decode_to_name_and_message() {
        let failure = decode(AllotError::AlreadyAllocatedThisPeriod.into());
        assert_eq!(
            failure.to_string(),
            "allot error 6021 AlreadyAllocatedThisPeriod: the user has already been allocated in this period"
        );
    }

    #[test]
    fn token_program_codes_decode_to_token_2022_messages() {
        assert_eq!(
            decode(67).to_string(),
            "error 67 from a program allot called (as Token-2022's: Transferring, minting, and burning is paused on this mint; the pool's operator paused its units: `allot operator resume-transfers`)"
        );
        assert_eq!(
            decode(1).to_string(),
            "error 1 from a program allot called (as Token-2022's: Insufficient funds)"
        );
        assert_eq!(
            decode(99).to_string(),
            "error 99 from a program allot called (as Token-2022's: unknown)"
        );
    }

    #[test]
    fn anchor_codes_are_named() {
        let code = u32::from(AnchorErrorCode::ConstraintSeeds);
        assert_eq!(anchor_error_name(code).as_deref(), Some("ConstraintSeeds"));
        assert_eq!(anchor_error_name(6_000), None);
    }

    #[test]
    fn anchor_codes_decode_to_their_meaning() {
        let failure = decode(AnchorErrorCode::ConstraintSeeds.into());
        assert!(failure.to_string().contains("program-derived address"));
    }
}
