//! Syscall stubs across two copies of `solana-sysvar`.
//!
//! A native program makes its syscalls (CPI, sysvar getters, logs, return data) through the
//! stubs installed in the `solana-sysvar` copy it was compiled against: anchor 1.2.2 uses 3.1.1.
//! Agave 4.2.2's program-test installs its stubs — which reach the 4.2.2 runtime's invoke
//! context — in its own 4.1.0 copy. [`install`] moves them: it takes the 4.x stubs and installs a
//! forwarder in the 3.x copy. Both traits have the same methods over the same types
//! (`solana-instruction`, `solana-account-info` and `solana-address` resolve to one version each).

use solana_sysvar::program_stubs::SyscallStubs as Stubs3;
use solana_sysvar_v4::program_stubs::SyscallStubs as Stubs4;

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;

/// The 4.x stubs, answering calls made through the 3.x copy.
struct Forward(Box<dyn Stubs4>);

/// The 4.x copy's stubs once they have moved (it keeps the defaults).
struct Moved;
impl Stubs4 for Moved {}

/// Moves the stubs that program-test 4.2.2 installed in `solana-sysvar` 4.x into the 3.x copy.
/// Call it after program-test has installed them (see `crate::validator`).
pub fn install() {
    let stubs = solana_sysvar_v4::program_stubs::set_syscall_stubs(Box::new(Moved));
    solana_sysvar::program_stubs::set_syscall_stubs(Box::new(Forward(stubs)));
}

impl Stubs3 for Forward {
    fn sol_log(&self, message: &str) {
        self.0.sol_log(message)
    }
    fn sol_log_compute_units(&self) {
        self.0.sol_log_compute_units()
    }
    fn sol_remaining_compute_units(&self) -> u64 {
        self.0.sol_remaining_compute_units()
    }
    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        self.0
            .sol_invoke_signed(instruction, account_infos, signers_seeds)
    }
    fn sol_get_sysvar(
        &self,
        sysvar_id_addr: *const u8,
        var_addr: *mut u8,
        offset: u64,
        length: u64,
    ) -> u64 {
        self.0
            .sol_get_sysvar(sysvar_id_addr, var_addr, offset, length)
    }
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.0.sol_get_clock_sysvar(var_addr)
    }
    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.0.sol_get_epoch_schedule_sysvar(var_addr)
    }
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.0.sol_get_fees_sysvar(var_addr)
    }
    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.0.sol_get_rent_sysvar(var_addr)
    }
    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.0.sol_get_epoch_rewards_sysvar(var_addr)
    }
    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        self.0.sol_get_last_restart_slot(var_addr)
    }
    fn sol_get_epoch_stake(&self, vote_address: *const u8) -> u64 {
        self.0.sol_get_epoch_stake(vote_address)
    }
    unsafe fn sol_memcpy(&self, dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { self.0.sol_memcpy(dst, src, n) }
    }
    unsafe fn sol_memmove(&self, dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { self.0.sol_memmove(dst, src, n) }
    }
    unsafe fn sol_memcmp(&self, s1: *const u8, s2: *const u8, n: usize, result: *mut i32) {
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { self.0.sol_memcmp(s1, s2, n, result) }
    }
    unsafe fn sol_memset(&self, s: *mut u8, c: u8, n: usize) {
        // SAFETY: the caller's contract is forwarded unchanged.
        unsafe { self.0.sol_memset(s, c, n) }
    }
    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        self.0.sol_get_return_data()
    }
    fn sol_set_return_data(&self, data: &[u8]) {
        self.0.sol_set_return_data(data)
    }
    fn sol_log_data(&self, fields: &[&[u8]]) {
        self.0.sol_log_data(fields)
    }
    fn sol_get_processed_sibling_instruction(&self, index: usize) -> Option<Instruction> {
        self.0.sol_get_processed_sibling_instruction(index)
    }
    fn sol_get_stack_height(&self) -> u64 {
        self.0.sol_get_stack_height()
    }
}
