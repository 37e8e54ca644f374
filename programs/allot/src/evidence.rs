//! Checking the evidence passed to `allocate` and `clawback`: a credential, or a user-list proof.

use anchor_lang::prelude::*;

use crate::constants::MAX_PROOF_LEN;
use crate::error::AllotError;
use crate::merkle;
use crate::state::UserList;

/// A user's leaf in a published user list, with the proof that links it to the root.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq)]
pub struct ListProof {
    /// The user's indicator value stated in the list.
    pub value: u64,
    /// Sibling hashes from the leaf up to the root (at most `MAX_PROOF_LEN`).
    pub proof: Vec<[u8; 32]>,
}

impl ListProof {
    /// Checks that the proof shows `(user, self.value)` in `list`, a list of `pool`.
    pub fn verify(&self, pool: &Pubkey, list: &UserList, user: &Pubkey) -> Result<()> {
        require!(self.proof.len() <= MAX_PROOF_LEN, AllotError::ProofTooLong);
        let leaf = merkle::leaf_hash(pool, list.period, user, self.value);
        require!(
            merkle::verify(&self.proof, &list.root, leaf),
            AllotError::InvalidProof
        );
        Ok(())
    }
}
