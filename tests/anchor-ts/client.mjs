// The Anchor TypeScript client (@anchor-lang/core, Anchor 1.x) against allot on a running
// localnet, as an integrator uses it: it loads the checked-in IDL, reads every account type,
// parses every transaction of the pool with EventParser and decodes its emit_cpi! events, lands a
// `program.methods` call, and reads a refused one as an AnchorError — from simulation logs and
// from a landed transaction's logs. Prints one JSON summary line; app/localnet/tests/anchor_ts.rs
// runs it and checks the summary against the chain.
//
// Environment: ALLOT_RPC_URL, ALLOT_WS_URL (PubSub), ALLOT_IDL (idl/allot.json), ALLOT_POOL, ALLOT_OPERATOR_KEYPAIR (a
// Solana CLI keypair file: the pool's operator), ALLOT_USER_KEYPAIR (a holder of the pool's units),
// ALLOT_REQUEST_ID (the id the user's exchange request takes).

import { readFileSync } from "node:fs";
import anchor from "@anchor-lang/core";

const { AnchorError, AnchorProvider, BN, BorshCoder, EventParser, Program, Wallet, utils, web3 } =
  anchor;
const { Connection, Keypair, PublicKey } = web3;

/// `name` from the environment, or a clear stop.
function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

const idl = JSON.parse(readFileSync(required("ALLOT_IDL"), "utf8"));
const connection = new Connection(required("ALLOT_RPC_URL"), {
  commitment: "confirmed",
  wsEndpoint: required("ALLOT_WS_URL"),
});
const operator = Keypair.fromSecretKey(
  Uint8Array.from(JSON.parse(readFileSync(required("ALLOT_OPERATOR_KEYPAIR"), "utf8"))),
);
const poolAddress = new PublicKey(required("ALLOT_POOL"));
const provider = new AnchorProvider(connection, new Wallet(operator), {
  commitment: "confirmed",
  preflightCommitment: "confirmed",
});
const program = new Program(idl, provider);
const coder = new BorshCoder(idl);
const eventAuthority = PublicKey.findProgramAddressSync(
  [Buffer.from("__event_authority")],
  program.programId,
)[0];
// The 8-byte tag of an Anchor event-CPI instruction (EVENT_IX_TAG_LE).
const EVENT_IX_TAG = Buffer.from("e445a52e51cb9a1d", "hex");

/// The transaction `signature` as the node returns it, waiting for its history to hold it.
async function fetchTransaction(signature) {
  for (let attempt = 0; attempt < 240; attempt += 1) {
    const found = await connection.getTransaction(signature, {
      commitment: "confirmed",
      maxSupportedTransactionVersion: 0,
    });
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`getTransaction never returned ${signature}`);
}

/// What Anchor's tools read from one transaction: EventParser over its logs (which must not
/// throw), and the emit_cpi! events of its inner instructions decoded with the IDL's coder.
function readTransaction(signature, transaction) {
  const logs = transaction.meta.logMessages;
  const parser = new EventParser(program.programId, coder);
  const logEvents = [...parser.parseLogs(logs)].map((event) => event.name);
  const keys = transaction.transaction.message.getAccountKeys({
    accountKeysFromLookups: transaction.meta.loadedAddresses,
  });
  const cpiEvents = [];
  for (const set of transaction.meta.innerInstructions ?? []) {
    for (const instruction of set.instructions) {
      if (!keys.get(instruction.programIdIndex).equals(program.programId)) continue;
      const data = Buffer.from(utils.bytes.bs58.decode(instruction.data));
      if (!data.subarray(0, 8).equals(EVENT_IX_TAG)) continue;
      const event = coder.events.decode(data.subarray(8).toString("base64"));
      if (!event) throw new Error(`an event the IDL does not know in ${signature}`);
      cpiEvents.push(event.name);
    }
  }
  return { signature, failed: transaction.meta.err !== null, logEvents, cpiEvents };
}

/// `error` as an AnchorError reports it: the error's name and number, the program, and the two
/// keys a constraint compared (Anchor reads them from the `Left:`/`Right:` log lines).
function describeAnchorError(error) {
  if (!(error instanceof AnchorError)) {
    return { anchorError: false, text: String(error), logs: error.logs ?? null };
  }
  return {
    anchorError: true,
    code: error.error.errorCode.code,
    number: error.error.errorCode.number,
    program: error.program.toBase58(),
    comparedValues: (error.error.comparedValues ?? []).map((value) => value.toString()),
  };
}

const summary = {};

// Every account type the program stores, read through program.account.
const pool = await program.account.pool.fetch(poolAddress);
summary.pool = {
  operator: pool.operator.toBase58(),
  mint: pool.mint.toBase58(),
  paused: pool.paused,
};
const counts = {};
for (const name of Object.keys(program.account)) {
  counts[name] = (await program.account[name].all()).length;
}
summary.accounts = counts;
// The user lists and shards, field by field (u64 fields as decimal strings).
summary.userLists = (await program.account.userList.all()).map(({ publicKey, account }) => ({
  address: publicKey.toBase58(),
  pool: account.pool.toBase58(),
  period: account.period.toString(),
  root: Buffer.from(account.root).toString("hex"),
  userCount: account.userCount,
  allocations: account.allocations.toString(),
  clawbacks: account.clawbacks.toString(),
}));
summary.shards = (await program.account.allocationShard.all()).map(({ publicKey, account }) => ({
  address: publicKey.toBase58(),
  pool: account.pool.toBase58(),
  index: account.index,
  vault: account.vault.toBase58(),
  funded: account.funded.toString(),
  allocated: account.allocated.toString(),
}));
const reports = await program.account.profitReport.all();
summary.profitReports = reports.map(({ account }) => ({
  pool: account.pool.toBase58(),
  period: account.period.toString(),
  amount: account.amount.toString(),
}));

// A call built by program.methods that lands: pause, then resume, the pool's allocations.
const methodSignatures = [];
for (const paused of [true, false]) {
  methodSignatures.push(
    await program.methods
      .poolSetPaused(paused)
      .accountsPartial({ pool: poolAddress, eventAuthority, program: program.programId })
      .rpc(),
  );
}
summary.methodSignatures = methodSignatures;
summary.pausedAfter = (await program.account.pool.fetch(poolAddress)).paused;

// The transaction a wallet signs to exchange, built by program.methods: the request's address
// (seeds [exchange_request, pool, id], the id an argument), the user's record and token account
// are resolved by Anchor from the IDL; the pool's own accounts are given.
const user = Keypair.fromSecretKey(
  Uint8Array.from(JSON.parse(readFileSync(required("ALLOT_USER_KEYPAIR"), "utf8"))),
);
const requestId = new BN(required("ALLOT_REQUEST_ID"));
const exchange = program.methods
  .exchangeRequest(requestId, new BN(1))
  .accountsPartial({
    user: user.publicKey,
    payer: user.publicKey,
    pool: poolAddress,
    mint: pool.mint,
    vault: pool.vault,
    escrow: pool.escrow,
  })
  .signers([user]);
const resolved = await exchange.pubkeys();
summary.exchangeRequest = {
  request: resolved.request.toBase58(),
  record: resolved.record.toBase58(),
  userToken: resolved.userToken.toBase58(),
  signature: await exchange.rpc(),
};

// A call the program refuses (a stranger signs as the operator): as the client reports it from
// the simulation's logs, then from the logs of the same call landed without preflight.
const stranger = Keypair.generate();
const refused = () =>
  program.methods
    .poolSetPaused(true)
    .accountsPartial({
      operator: stranger.publicKey,
      pool: poolAddress,
      eventAuthority,
      program: program.programId,
    })
    .signers([stranger]);
summary.stranger = stranger.publicKey.toBase58();
try {
  await refused().rpc();
  summary.simulatedRefusal = { refused: false };
} catch (error) {
  summary.simulatedRefusal = describeAnchorError(error);
}
const landedRefusal = await refused().transaction();
landedRefusal.feePayer = operator.publicKey;
landedRefusal.recentBlockhash = (await connection.getLatestBlockhash("confirmed")).blockhash;
landedRefusal.sign(operator, stranger);
const refusedSignature = await connection.sendRawTransaction(landedRefusal.serialize(), {
  skipPreflight: true,
});
const refusedTransaction = await fetchTransaction(refusedSignature);
const parsed = AnchorError.parse(refusedTransaction.meta.logMessages);
summary.landedRefusal = {
  signature: refusedSignature,
  ...(parsed ? describeAnchorError(parsed) : { anchorError: false }),
};

// Every transaction that touched the pool, read with Anchor's own tools.
const signatures = await connection.getSignaturesForAddress(poolAddress, {}, "confirmed");
const transactions = [];
for (const { signature } of signatures.reverse()) {
  transactions.push(readTransaction(signature, await fetchTransaction(signature)));
}
summary.transactions = transactions;

console.log(JSON.stringify(summary));
