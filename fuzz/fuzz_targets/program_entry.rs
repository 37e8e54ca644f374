//! Fuzzes the program entry: a known instruction discriminator with arbitrary arguments, and up to
//! 16 accounts (the most an instruction names) drawn from the keys an attacker would try (the
//! pool's real PDAs, the programs, random keys), with arbitrary owners, flags, lamports and data
//! (optionally behind a real account discriminator). The program may refuse anything; it must
//! never panic. Syscalls answer as a runtime would: a fixed clock, default rent, CPIs that succeed
//! without effect.

#![no_main]

use std::sync::Once;

use allot_client::pdas;
use anchor_lang::prelude::{AccountInfo, Clock, Pubkey, Rent};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{Discriminator, solana_program::entrypoint::ProgramResult};
use libfuzzer_sys::fuzz_target;

struct Stubs;

impl solana_sysvar::program_stubs::SyscallStubs for Stubs {
    fn sol_log(&self, _message: &str) {}
    fn sol_invoke_signed(
        &self,
        _: &Instruction,
        _: &[AccountInfo],
        _: &[&[&[u8]]],
    ) -> ProgramResult {
        Ok(())
    }
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        let clock = Clock {
            slot: 1_000,
            unix_timestamp: 1_800_000_000,
            ..Clock::default()
        };
        // SAFETY: the caller passes a pointer to a `Clock`.
        unsafe { *(var_addr as *mut Clock) = clock };
        0
    }
    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        // SAFETY: the caller passes a pointer to a `Rent`.
        unsafe { *(var_addr as *mut Rent) = Rent::default() };
        0
    }
}

/// Instruction discriminators of every allot instruction.
fn instructions() -> Vec<&'static [u8]> {
    use allot::instruction::*;
    vec![
        PoolCreate::DISCRIMINATOR,
        PoolUpdateRule::DISCRIMINATOR,
        PoolSetPaused::DISCRIMINATOR,
        PoolFund::DISCRIMINATOR,
        PoolProposeOperator::DISCRIMINATOR,
        PoolAcceptOperator::DISCRIMINATOR,
        VerifierAdd::DISCRIMINATOR,
        VerifierSetActive::DISCRIMINATOR,
        CredentialIssue::DISCRIMINATOR,
        CredentialRevoke::DISCRIMINATOR,
        UserListPublish::DISCRIMINATOR,
        Allocate::DISCRIMINATOR,
        Clawback::DISCRIMINATOR,
        PoolSetExchange::DISCRIMINATOR,
        ProfitReportRecord::DISCRIMINATOR,
        ExchangeRequest::DISCRIMINATOR,
        ExchangeSettle::DISCRIMINATOR,
        ExchangeCancel::DISCRIMINATOR,
        ExchangeReject::DISCRIMINATOR,
        ExchangeClose::DISCRIMINATOR,
        AllocateSharded::DISCRIMINATOR,
        ShardCreate::DISCRIMINATOR,
        ShardFund::DISCRIMINATOR,
        ShardDrain::DISCRIMINATOR,
        ShardSweep::DISCRIMINATOR,
    ]
}

/// Account discriminators of every allot account type.
fn account_kinds() -> Vec<&'static [u8]> {
    use allot::state::*;
    vec![
        Pool::DISCRIMINATOR,
        Verifier::DISCRIMINATOR,
        Credential::DISCRIMINATOR,
        UserList::DISCRIMINATOR,
        AllocationRecord::DISCRIMINATOR,
        ProfitReport::DISCRIMINATOR,
        ExchangeRequest::DISCRIMINATOR,
        AllocationShard::DISCRIMINATOR,
    ]
}

/// Reads the fuzz input front to back.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken.to_vec()
    }
}

fuzz_target!(|data: &[u8]| {
    static STUBS: Once = Once::new();
    STUBS.call_once(|| {
        solana_sysvar::program_stubs::set_syscall_stubs(Box::new(Stubs));
    });
    let mut input = Input(data);
    let creator = Pubkey::new_from_array([1; 32]);
    let user = Pubkey::new_from_array([2; 32]);
    let pool = pdas::pool(&creator, 1);
    let keys = [
        creator,
        user,
        pool,
        pdas::mint(&pool),
        pdas::vault(&pool),
        pdas::escrow(&pool),
        pdas::credential(&pool, &user),
        pdas::allocation_record(&pool, &user),
        pdas::verifier(&pool, &creator),
        pdas::user_list(&pool, 0),
        pdas::exchange_request(&pool, 0),
        pdas::profit_report(&pool, 0),
        pdas::shard(&pool, 0),
        pdas::shard_vault(&pool, 0),
        pdas::event_authority(),
        allot::ID,
        anchor_spl_ids::TOKEN_2022,
        anchor_spl_ids::ATA,
        anchor_lang::system_program::ID,
        Pubkey::new_from_array([9; 32]),
    ];
    let owners = [
        allot::ID,
        anchor_lang::system_program::ID,
        anchor_spl_ids::TOKEN_2022,
        Pubkey::new_from_array([8; 32]),
    ];
    let instructions = instructions();
    let kinds = account_kinds();

    let mut ix_data = instructions[usize::from(input.byte()) % instructions.len()].to_vec();
    let args_len = usize::from(input.byte());
    ix_data.extend(input.bytes(args_len));

    let count = usize::from(input.byte() % 17);
    let mut specs = Vec::with_capacity(count);
    for _ in 0..count {
        let key = keys[usize::from(input.byte()) % keys.len()];
        let owner = owners[usize::from(input.byte()) % owners.len()];
        let flags = input.byte();
        let lamports = u64::from(input.byte()) * 1_000_000;
        let mut account_data = Vec::new();
        let kind = input.byte();
        if kind % 2 == 1 {
            account_data.extend_from_slice(kinds[usize::from(kind / 2) % kinds.len()]);
        }
        let len = usize::from(input.byte());
        account_data.extend(input.bytes(len));
        specs.push((key, owner, flags, lamports, account_data));
    }
    let mut lamports: Vec<u64> = specs.iter().map(|s| s.3).collect();
    let mut datas: Vec<Vec<u8>> = specs.iter().map(|s| s.4.clone()).collect();
    let mut accounts = Vec::with_capacity(count);
    for ((spec, lamports), data) in specs.iter().zip(lamports.iter_mut()).zip(datas.iter_mut()) {
        accounts.push(AccountInfo::new(
            &spec.0,
            spec.2 & 1 == 1,
            spec.2 & 2 == 2,
            lamports,
            data,
            &spec.1,
            spec.2 & 4 == 4,
        ));
    }
    let _ = allot::entry(&allot::ID, &accounts, &ix_data);
});

/// Program ids the accounts may name (kept here so the target needs no anchor-spl build).
mod anchor_spl_ids {
    use anchor_lang::prelude::Pubkey;
    pub const TOKEN_2022: Pubkey =
        anchor_lang::pubkey!("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
    pub const ATA: Pubkey = anchor_lang::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
}
