//! Building an operator's user list: the Merkle tree, its root and each user's proof.
//!
//! Leaves and nodes are hashed by `allot::merkle`, the same functions the program verifies with.

use allot::merkle::{leaf_hash, node_hash};
use anchor_lang::prelude::Pubkey;

/// A built user list for one pool and period.
#[derive(Debug, Clone)]
pub struct UserListTree {
    /// `(user, value)` in input order.
    entries: Vec<(Pubkey, u64)>,
    /// Tree levels from leaves (level 0) to the root level (one node).
    levels: Vec<Vec<[u8; 32]>>,
}

/// Why a user list cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserListError {
    /// A list needs at least one user.
    #[error("the user list is empty")]
    Empty,
    /// Each user may appear once.
    #[error("user {0} appears more than once in the list")]
    DuplicateUser(Pubkey),
}

impl UserListTree {
    /// Builds the tree of `entries` for `pool` and `period`. An odd node at a level is carried
    /// up unchanged (so no leaf is duplicated).
    pub fn build(
        pool: &Pubkey,
        period: u64,
        entries: Vec<(Pubkey, u64)>,
    ) -> Result<Self, UserListError> {
        if entries.is_empty() {
            return Err(UserListError::Empty);
        }
        let mut seen: Vec<&Pubkey> = entries.iter().map(|(user, _)| user).collect();
        seen.sort();
        if let Some(pair) = seen.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(UserListError::DuplicateUser(*pair[0]));
        }
        let leaves: Vec<[u8; 32]> = entries
            .iter()
            .map(|(user, value)| leaf_hash(pool, period, user, *value))
            .collect();
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|level| level.len() > 1) {
            let level = levels.last().expect("levels is never empty");
            let next = level
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => node_hash(a, b),
                    [a] => *a,
                    _ => unreachable!("chunks(2) yields one or two nodes"),
                })
                .collect();
            levels.push(next);
        }
        Ok(Self { entries, levels })
    }

    /// The root to publish.
    pub fn root(&self) -> [u8; 32] {
        self.levels.last().expect("levels is never empty")[0]
    }

    /// Number of users in the list.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty (never true for a built tree).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `user`'s value and proof, or `None` if the user is not in the list.
    pub fn proof(&self, user: &Pubkey) -> Option<allot::ListProof> {
        let mut index = self.entries.iter().position(|(u, _)| u == user)?;
        let value = self.entries[index].1;
        let mut proof = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = index ^ 1;
            if let Some(node) = level.get(sibling) {
                proof.push(*node);
            }
            index /= 2;
        }
        Some(allot::ListProof { value, proof })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot::merkle::verify;

    #[test]
    fn every_user_of_odd_and_even_lists_has_a_valid_proof() {
        let pool = Pubkey::new_unique();
        for n in 1..=9 {
            let entries: Vec<(Pubkey, u64)> =
                (0..n).map(|i| (Pubkey::new_unique(), i * 10)).collect();
            let tree = UserListTree::build(&pool, 4, entries.clone()).unwrap();
            for (user, value) in &entries {
                let p = tree.proof(user).unwrap();
                assert_eq!(p.value, *value);
                assert!(verify(
                    &p.proof,
                    &tree.root(),
                    leaf_hash(&pool, 4, user, *value)
                ));
                assert!(!verify(
                    &p.proof,
                    &tree.root(),
                    leaf_hash(&pool, 4, user, value + 1)
                ));
            }
            assert!(tree.proof(&Pubkey::new_unique()).is_none());
        }
    }

    #[test]
    fn empty_and_duplicate_lists_are_refused() {
        let pool = Pubkey::new_unique();
        assert_eq!(
            UserListTree::build(&pool, 0, vec![]).unwrap_err(),
            UserListError::Empty
        );
        let user = Pubkey::new_unique();
        assert_eq!(
            UserListTree::build(&pool, 0, vec![(user, 1), (user, 2)]).unwrap_err(),
            UserListError::DuplicateUser(user)
        );
    }
}
