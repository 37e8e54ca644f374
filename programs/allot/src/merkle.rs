//! Merkle proofs for the operator's user lists.
//!
//! Leaves and inner nodes are hashed with different one-byte prefixes (domain separation), so an
//! inner node can never be presented as a leaf (second-preimage attack). A leaf also commits to
//! the pool and the period, so a proof from another pool's or another period's list is useless.
//! Inner nodes hash their children in sorted order, so a proof is just the list of siblings.
//! The client library builds trees with these same functions.

use anchor_lang::prelude::*;
use solana_sha256_hasher::hashv;

/// Prefix of a leaf hash.
pub const LEAF_PREFIX: &[u8] = &[0];
/// Prefix of an inner-node hash.
pub const NODE_PREFIX: &[u8] = &[1];

/// Hash of the leaf stating that `user` had indicator `value` in `period` of `pool`.
pub fn leaf_hash(pool: &Pubkey, period: u64, user: &Pubkey, value: u64) -> [u8; 32] {
    hashv(&[
        LEAF_PREFIX,
        pool.as_ref(),
        &period.to_le_bytes(),
        user.as_ref(),
        &value.to_le_bytes(),
    ])
    .to_bytes()
}

/// Hash of an inner node over two children, in sorted order.
pub fn node_hash(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    hashv(&[NODE_PREFIX, lo, hi]).to_bytes()
}

/// Whether `proof` links `leaf` to `root`. The caller bounds the proof length.
pub fn verify(proof: &[[u8; 32]], root: &[u8; 32], leaf: [u8; 32]) -> bool {
    let computed = proof
        .iter()
        .fold(leaf, |node, sibling| node_hash(&node, sibling));
    computed == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_leaf_tree_proves_both_leaves_and_nothing_else() {
        let pool = Pubkey::new_unique();
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        let la = leaf_hash(&pool, 1, &a, 10);
        let lb = leaf_hash(&pool, 1, &b, 20);
        let root = node_hash(&la, &lb);
        assert!(verify(&[lb], &root, la));
        assert!(verify(&[la], &root, lb));
        // Another value, period or pool gives another leaf.
        assert!(!verify(&[lb], &root, leaf_hash(&pool, 1, &a, 11)));
        assert!(!verify(&[lb], &root, leaf_hash(&pool, 2, &a, 10)));
        assert!(!verify(
            &[lb],
            &root,
            leaf_hash(&Pubkey::new_unique(), 1, &a, 10)
        ));
        // The root itself, presented as a leaf with an empty proof, proves nothing new:
        // it is a node hash, and no leaf hashes to it because of the prefixes.
        assert_ne!(hashv(&[LEAF_PREFIX, &la, &lb]).to_bytes(), root);
    }
}
