//! Every error the program returns. Variants are append-only: their codes are part of the ABI.

use anchor_lang::prelude::*;

/// Errors of the allot program; each message says what was wrong and what to do.
#[error_code]
#[derive(PartialEq, Eq)]
pub enum AllotError {
    #[msg("the signer is not this pool's operator")]
    NotOperator,
    #[msg(
        "the signer is not the operator proposed for this pool; the current operator must propose it first"
    )]
    NotPendingOperator,
    #[msg("the pool is paused: the operator must unpause it before allocations resume")]
    PoolPaused,
    #[msg(
        "the allocation rule is invalid: indicator slot out of range, zero amount, or negative credential max age"
    )]
    InvalidRule,
    #[msg("the period length is shorter than the minimum of 60 seconds")]
    PeriodTooShort,
    #[msg("the mint decimals exceed 9")]
    TooManyDecimals,
    #[msg("the supply cap must be at least one allocation amount")]
    SupplyCapTooSmall,
    #[msg("minting this amount would exceed the pool's supply cap")]
    SupplyCapExceeded,
    #[msg("the amount must be greater than zero")]
    ZeroAmount,
    #[msg("non-transferable pools mint at allocation time; they have no vault to fund")]
    NonTransferableHasNoVault,
    #[msg("the verifier is not active for this pool")]
    VerifierInactive,
    #[msg("the verifier already has this active state")]
    VerifierStateUnchanged,
    #[msg("the credential expiry must be in the future")]
    ExpiryInPast,
    #[msg("a credential cannot move back to an earlier period")]
    CredentialPeriodRegressed,
    #[msg("a credential cannot cover a period that has not started yet")]
    PeriodInFuture,
    #[msg("the credential is already revoked")]
    CredentialAlreadyRevoked,
    #[msg("the credential has been revoked by its verifier")]
    CredentialRevoked,
    #[msg("the credential has expired")]
    CredentialExpired,
    #[msg("the credential was issued longer ago than the pool's credential max age")]
    CredentialTooOld,
    #[msg("the credential does not cover the current period; the verifier must update it")]
    CredentialWrongPeriod,
    #[msg("the user's indicator does not meet the pool's rule")]
    RuleNotMet,
    #[msg("the user has already been allocated in this period")]
    AlreadyAllocatedThisPeriod,
    #[msg(
        "pass exactly one piece of evidence: a credential, a user list with a proof, or a SAS attestation with its issuer"
    )]
    EvidenceMismatch,
    #[msg("the user list does not cover the current period")]
    UserListWrongPeriod,
    #[msg("the Merkle proof does not prove this user and value against the published root")]
    InvalidProof,
    #[msg("the Merkle proof is longer than 32 nodes")]
    ProofTooLong,
    #[msg(
        "this user list was already used by an allocation or a clawback; its root can no longer be replaced"
    )]
    UserListRootInUse,
    #[msg("the user's evidence still meets the rule: nothing may be clawed back")]
    ConditionsStillHold,
    #[msg("the evidence is older than the user's last allocation and cannot justify a clawback")]
    EvidenceOlderThanAllocation,
    #[msg("the user holds no allocated units to claw back")]
    NothingToClawBack,
    #[msg("arithmetic overflow or underflow")]
    MathOverflow,
    #[msg("pool accounting invariant violated")]
    InvariantViolated,
    #[msg("the new operator is the current operator")]
    OperatorUnchanged,
    #[msg("no operator transfer is pending")]
    NoPendingOperator,
    #[msg("the vault holds fewer units than one allocation: the operator must fund the pool")]
    VaultInsufficient,
    #[msg("this key is already a verifier of the pool; use verifier_set_active to reactivate it")]
    VerifierAlreadyAdded,
    #[msg(
        "the exchange configuration is invalid: window end before start, negative holding time, zero cancel timeout, or a profit share outside 1..=10000 bps"
    )]
    InvalidExchangeConfig,
    #[msg("no units are outstanding: a profit share cannot be spread over zero units")]
    NoUnitsOutstanding,
    #[msg("the profit report's currency differs from the pool's exchange currency")]
    CurrencyMismatch,
    #[msg("a profit report for this period is already recorded; reports are immutable")]
    ProfitReportExists,
    #[msg("exchange is closed for this pool at this time")]
    ExchangeClosed,
    #[msg("the option is outside its exercise window")]
    OutsideExerciseWindow,
    #[msg("the option is out of the money: the rate does not exceed the strike")]
    OutOfTheMoney,
    #[msg(
        "the pool has no exchange rate yet: the operator must set a price or record a profit report"
    )]
    RateNotSet,
    #[msg("the quoted funds round down to zero: request more units")]
    QuoteIsZero,
    #[msg("the user holds fewer units than the pool's minimum holding for exchange")]
    MinHoldingNotMet,
    #[msg("the minimum holding time since the user's last allocation has not passed")]
    HoldingTimeNotMet,
    #[msg("this request exceeds the user's exchange cap for the period")]
    UserCapExceeded,
    #[msg("this request exceeds the pool's exchange cap for the period")]
    PeriodCapExceeded,
    #[msg("the user's token account holds fewer units than requested")]
    InsufficientUnits,
    #[msg("exchange requests escrow units, which non-transferable pools cannot move")]
    ExchangeNeedsTransferablePool,
    #[msg("the signer is not this pool's settlement authority")]
    NotSettlementAuthority,
    #[msg("the exchange request is not pending: it was already settled, cancelled or rejected")]
    RequestNotPending,
    #[msg("the request can be cancelled by the user only after the pool's cancel timeout")]
    CancelTooEarly,
    #[msg("the exchange request is still pending and cannot be closed")]
    RequestNotFinal,
    #[msg(
        "the on-chain payout accounts do not match the pool's payout mint and the request's user"
    )]
    PayoutAccountsMismatch,
    #[msg("the on-chain payout must pay exactly the quoted amount")]
    PaidAmountMismatch,
    #[msg("the signer is not the user who made this exchange request")]
    NotRequestUser,
    #[msg(
        "the payout mint has a transfer fee or transfer hook: the user would not receive exactly the quote"
    )]
    PayoutMintUnsupported,
    #[msg("allocation shards hold vault units, which non-transferable pools do not have")]
    ShardsNeedTransferablePool,
    #[msg("the pool already has the most allocation shards allowed (64)")]
    TooManyShards,
    #[msg(
        "the shard's vault holds fewer units than asked: the operator must fund the shard, or use another shard"
    )]
    ShardInsufficient,
    #[msg(
        "a sharded allocation needs a user list already used by a direct allocation or a clawback (the first use seals its root)"
    )]
    UserListNotSealed,
    #[msg(
        "the user must be a wallet, not one of allot's own accounts (a pool, a shard…): units sent there would be booked as held by a user"
    )]
    UserIsProgramAccount,
    #[msg(
        "the payout mint has fewer decimals than the currency's minor units: a quote could not be paid exactly"
    )]
    PayoutMintTooFewDecimals,
    #[msg(
        "the request is locked for payout: only the settlement authority can settle or reject it until its lock expires"
    )]
    RequestLocked,
    #[msg(
        "the request's terms say it is paid on chain in its payout mint (or off chain without one): pass exactly those payout accounts"
    )]
    PayoutTermsMismatch,
    #[msg("a request paid on chain needs no lock: its payment and settlement are one transaction")]
    LockNotNeeded,
    #[msg("the token's name and symbol must not be empty")]
    TokenMetadataEmpty,
    #[msg("the token's name, symbol or URI is longer than wallets display (32, 10 and 200 bytes)")]
    TokenMetadataTooLong,
    #[msg("the user list is for a period that has not begun: it cannot be clawback evidence yet")]
    UserListFromFuturePeriod,
    #[msg("the pool accepts no attestations: its operator has not named a SAS schema")]
    AttestationNotConfigured,
    #[msg("the attestation or its issuer is not an account of the Solana Attestation Service")]
    AttestationWrongOwner,
    #[msg(
        "the attestation is not at the address SAS gives the pool's issuer, schema and this user"
    )]
    AttestationWrongAddress,
    #[msg("the account is not a SAS attestation, issuer or schema of the expected layout")]
    AttestationInvalid,
    #[msg("the attestation or issuer account is not the pool's SAS issuer (credential)")]
    AttestationWrongIssuer,
    #[msg("the attestation is of another SAS schema (or schema version) than the pool names")]
    AttestationWrongSchema,
    #[msg("the attestation's signer is not an authorised signer of its SAS issuer")]
    AttestationSignerNotAuthorised,
    #[msg("the attestation has expired")]
    AttestationExpired,
    #[msg("the user has no attestation at its address (none issued, or closed by its issuer)")]
    AttestationMissing,
    #[msg("the schema's field is not a u64 after fixed-size fields only: its value cannot be read")]
    AttestationFieldUnreadable,
    #[msg("pass the attestation and its SAS issuer together, or neither")]
    AttestationAccountsMismatch,
    #[msg(
        "this evidence did not support the user's last allocation, so its absence proves nothing"
    )]
    EvidenceNotOfLastAllocation,
    #[msg(
        "the holder was allocated before the pool named its current SAS schema: its attestation is not at this schema's address"
    )]
    AttestationSchemaChanged,
    #[msg(
        "the pool named its SAS schema this very second: allocate on it from the next second on (a clawback must be able to tell the two apart)"
    )]
    AttestationJustAccepted,
    #[msg(
        "only a transferable pool can be pausable: a non-transferable pool's units move only through the program, which pausing allocations already stops"
    )]
    PausableNeedsTransferable,
    #[msg(
        "the pool's mint was created without the Pausable extension: its transfers cannot be paused (choose pausable when creating a pool)"
    )]
    TransfersNotPausable,
    #[msg("the pool is retired: it allocates and claws back no more (exchanges and cancels go on)")]
    PoolRetired,
    #[msg("allocation records can be closed only once the operator has retired the pool")]
    PoolNotRetired,
    #[msg(
        "the record still counts this period's exchange requests, the holding time of its last allocation, or units its user owes: close it in a later period, once the debt is repaid"
    )]
    RecordStillInUse,
    #[msg(
        "units allocated to this user left its account before a clawback and are still owed: a request repays them first and must be larger than the debt, and an allocation that repays them comes from the pool's vault, not a shard"
    )]
    ClawbackDebtOutstanding,
    #[msg(
        "a request exists at this id (open, or final and not yet closed): choose another id (clients draw a random one for every request)"
    )]
    RequestIdInUse,
    #[msg("a request id is at most 2^53 - 1 (9007199254740991), exact in every JSON reader")]
    RequestIdTooLarge,
    #[msg(
        "the request at this id was made at another time than the transaction expected: it is a later request at a closed request's id, not the one the transaction was signed for"
    )]
    RequestInstanceMismatch,
}

impl AllotError {
    /// Every variant in code order (code = 6000 + index), for decoders outside the program.
    pub const ALL: [AllotError; 94] = [
        AllotError::NotOperator,
        AllotError::NotPendingOperator,
        AllotError::PoolPaused,
        AllotError::InvalidRule,
        AllotError::PeriodTooShort,
        AllotError::TooManyDecimals,
        AllotError::SupplyCapTooSmall,
        AllotError::SupplyCapExceeded,
        AllotError::ZeroAmount,
        AllotError::NonTransferableHasNoVault,
        AllotError::VerifierInactive,
        AllotError::VerifierStateUnchanged,
        AllotError::ExpiryInPast,
        AllotError::CredentialPeriodRegressed,
        AllotError::PeriodInFuture,
        AllotError::CredentialAlreadyRevoked,
        AllotError::CredentialRevoked,
        AllotError::CredentialExpired,
        AllotError::CredentialTooOld,
        AllotError::CredentialWrongPeriod,
        AllotError::RuleNotMet,
        AllotError::AlreadyAllocatedThisPeriod,
        AllotError::EvidenceMismatch,
        AllotError::UserListWrongPeriod,
        AllotError::InvalidProof,
        AllotError::ProofTooLong,
        AllotError::UserListRootInUse,
        AllotError::ConditionsStillHold,
        AllotError::EvidenceOlderThanAllocation,
        AllotError::NothingToClawBack,
        AllotError::MathOverflow,
        AllotError::InvariantViolated,
        AllotError::OperatorUnchanged,
        AllotError::NoPendingOperator,
        AllotError::VaultInsufficient,
        AllotError::VerifierAlreadyAdded,
        AllotError::InvalidExchangeConfig,
        AllotError::NoUnitsOutstanding,
        AllotError::CurrencyMismatch,
        AllotError::ProfitReportExists,
        AllotError::ExchangeClosed,
        AllotError::OutsideExerciseWindow,
        AllotError::OutOfTheMoney,
        AllotError::RateNotSet,
        AllotError::QuoteIsZero,
        AllotError::MinHoldingNotMet,
        AllotError::HoldingTimeNotMet,
        AllotError::UserCapExceeded,
        AllotError::PeriodCapExceeded,
        AllotError::InsufficientUnits,
        AllotError::ExchangeNeedsTransferablePool,
        AllotError::NotSettlementAuthority,
        AllotError::RequestNotPending,
        AllotError::CancelTooEarly,
        AllotError::RequestNotFinal,
        AllotError::PayoutAccountsMismatch,
        AllotError::PaidAmountMismatch,
        AllotError::NotRequestUser,
        AllotError::PayoutMintUnsupported,
        AllotError::ShardsNeedTransferablePool,
        AllotError::TooManyShards,
        AllotError::ShardInsufficient,
        AllotError::UserListNotSealed,
        AllotError::UserIsProgramAccount,
        AllotError::PayoutMintTooFewDecimals,
        AllotError::RequestLocked,
        AllotError::PayoutTermsMismatch,
        AllotError::LockNotNeeded,
        AllotError::TokenMetadataEmpty,
        AllotError::TokenMetadataTooLong,
        AllotError::UserListFromFuturePeriod,
        AllotError::AttestationNotConfigured,
        AllotError::AttestationWrongOwner,
        AllotError::AttestationWrongAddress,
        AllotError::AttestationInvalid,
        AllotError::AttestationWrongIssuer,
        AllotError::AttestationWrongSchema,
        AllotError::AttestationSignerNotAuthorised,
        AllotError::AttestationExpired,
        AllotError::AttestationMissing,
        AllotError::AttestationFieldUnreadable,
        AllotError::AttestationAccountsMismatch,
        AllotError::EvidenceNotOfLastAllocation,
        AllotError::AttestationSchemaChanged,
        AllotError::AttestationJustAccepted,
        AllotError::PausableNeedsTransferable,
        AllotError::TransfersNotPausable,
        AllotError::PoolRetired,
        AllotError::PoolNotRetired,
        AllotError::RecordStillInUse,
        AllotError::ClawbackDebtOutstanding,
        AllotError::RequestIdInUse,
        AllotError::RequestIdTooLarge,
        AllotError::RequestInstanceMismatch,
    ];

    /// The variant with the given custom error code, if it is one of ours.
    pub fn from_code(code: u32) -> Option<AllotError> {
        let index = code.checked_sub(anchor_lang::error::ERROR_CODE_OFFSET)?;
        Self::ALL.get(usize::try_from(index).ok()?).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_variant_in_code_order() {
        let declared = include_str!("error.rs").matches("\n    #[msg(").count();
        assert_eq!(AllotError::ALL.len(), declared);
        for (index, error) in AllotError::ALL.iter().enumerate() {
            assert_eq!(u32::from(*error), 6000 + index as u32);
            assert_eq!(AllotError::from_code(6000 + index as u32), Some(*error));
        }
        assert_eq!(AllotError::from_code(6000 + declared as u32), None);
        assert_eq!(AllotError::from_code(2006), None);
    }
}
