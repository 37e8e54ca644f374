//! The store on both databases it supports: a real SQLite file and a real PostgreSQL server.
//! Every test runs the same body on each.

use std::collections::HashSet;

use allot_bridge::state::RequestState;
use allot_bridge::store::{
    Changes, Cursor, NewRequest, ReadTransaction, ReviewAction, Store, now_ms, time_in_states,
};
use allot_bridge::test_support::postgres::TestPostgres;

fn request(n: u32) -> NewRequest {
    NewRequest {
        address: format!("Request{n:04}"),
        pool: "Pool".into(),
        request_id: i64::from(n),
        user_key: format!("User{n}"),
        amount: 1_000,
        rate: 25_000,
        quoted: 2_500,
        currency: "USD".into(),
        created_at: 1_700_000_000,
        signature: Some(format!("Sig{n}")),
        slot: 100 + i64::from(n),
    }
}

/// The transaction `signature` in `slot`, as read, opening `requests`.
fn read(signature: &str, slot: i64, requests: Vec<NewRequest>) -> ReadTransaction {
    ReadTransaction {
        cursor: Cursor {
            signature: signature.into(),
            slot,
        },
        requests,
    }
}

async fn sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bridge.db").display());
    let store = Store::open(&url).await.expect("SQLite store opens");
    (dir, store)
}

async fn postgres(server: &TestPostgres) -> Store {
    let database = server.database().await.expect("test database");
    Store::open(&database.url)
        .await
        .expect("PostgreSQL store opens")
}

async fn ingest_is_atomic_and_idempotent(store: &Store) {
    assert_eq!(store.cursor("prog").await.unwrap(), None);
    let cursor = Cursor {
        signature: "Sig1".into(),
        slot: 101,
    };
    let new = store
        .ingest(
            "prog",
            &[read("Sig1", 101, vec![request(1), request(2)])],
            "w1",
        )
        .await
        .unwrap();
    assert_eq!(new, 2);
    assert_eq!(store.cursor("prog").await.unwrap(), Some(cursor.clone()));
    // The same transaction read again (an older bridge re-read its cursor's slot): nothing new.
    let again = store
        .ingest("prog", &[read("Sig1", 101, vec![request(1)])], "w1")
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(
        store
            .insert_found(&[request(2), request(3)], "w1")
            .await
            .unwrap(),
        1
    );
    let stored = store.requests().await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .iter()
            .all(|r| r.state().unwrap() == RequestState::Discovered)
    );
    assert_eq!(
        store.history("Request0001").await.unwrap(),
        [RequestState::Discovered]
    );
    // Each row's payout is keyed by its request's instance: address and created_at.
    for row in &stored {
        assert_eq!(
            row.payout_key(),
            format!("allot-payout-{}-1700000000", row.address)
        );
    }
}

/// Transactions stored together move the cursor to the last; the ones in its slot are
/// remembered as read there (a pass lists that slot again but fetches only the others), and
/// forgotten once the cursor moves to a newer slot. Each address has its own.
async fn the_cursor_slot_remembers_what_was_read_in_it(store: &Store) {
    let first = [
        read("SigA", 200, vec![request(1)]),
        read("SigB", 201, vec![]),
        read("SigC", 201, vec![request(2)]),
    ];
    assert_eq!(store.ingest("escrow", &first, "w1").await.unwrap(), 2);
    assert_eq!(
        store.cursor("escrow").await.unwrap(),
        Some(first[2].cursor.clone())
    );
    let in_slot = |signatures: &[&str]| -> HashSet<String> {
        signatures.iter().map(|s| s.to_string()).collect()
    };
    assert_eq!(
        store.read_in_slot("escrow", 201).await.unwrap(),
        in_slot(&["SigB", "SigC"])
    );
    assert_eq!(
        store.read_in_slot("escrow", 200).await.unwrap(),
        in_slot(&[])
    );
    assert_eq!(
        store.read_in_slot("other", 201).await.unwrap(),
        in_slot(&[])
    );
    // Another address moving on to a newer slot leaves this one's alone.
    store
        .ingest("other", &[read("SigZ", 300, vec![])], "w1")
        .await
        .unwrap();
    assert_eq!(
        store.read_in_slot("escrow", 201).await.unwrap(),
        in_slot(&["SigB", "SigC"])
    );
    // The slot listed again: one more there (and one read again), then a newer slot.
    store
        .ingest(
            "escrow",
            &[read("SigC", 201, vec![]), read("SigD", 201, vec![])],
            "w1",
        )
        .await
        .unwrap();
    assert_eq!(
        store.read_in_slot("escrow", 201).await.unwrap(),
        in_slot(&["SigB", "SigC", "SigD"])
    );
    store
        .ingest("escrow", &[read("SigE", 205, vec![request(3)])], "w1")
        .await
        .unwrap();
    assert_eq!(
        store.read_in_slot("escrow", 201).await.unwrap(),
        in_slot(&[])
    );
    assert_eq!(
        store.read_in_slot("escrow", 205).await.unwrap(),
        in_slot(&["SigE"])
    );
    // Nothing to store moves nothing.
    assert_eq!(store.ingest("escrow", &[], "w1").await.unwrap(), 0);
    assert_eq!(store.cursor("escrow").await.unwrap().unwrap().slot, 205);
    assert_eq!(store.requests().await.unwrap().len(), 3);
}

async fn transitions_need_the_state_and_the_claim(store: &Store) {
    store.insert_found(&[request(1)], "w1").await.unwrap();
    let claimed = store
        .claim_next("w1", 60_000)
        .await
        .unwrap()
        .expect("claimable");
    assert_eq!(claimed.address, "Request0001");
    // Another worker neither claims it nor moves it.
    assert!(store.claim_next("w2", 60_000).await.unwrap().is_none());
    let quote = Changes {
        quote: Some(2_500),
        ..Changes::default()
    };
    assert!(
        !store
            .transition(
                "Request0001",
                "w2",
                RequestState::Discovered,
                RequestState::Quoted,
                quote.clone(),
                60_000
            )
            .await
            .unwrap()
    );
    // A stale expected state changes nothing.
    assert!(
        !store
            .transition(
                "Request0001",
                "w1",
                RequestState::Quoted,
                RequestState::PayoutPending,
                Changes::default(),
                60_000
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .transition(
                "Request0001",
                "w1",
                RequestState::Discovered,
                RequestState::Quoted,
                quote,
                60_000
            )
            .await
            .unwrap()
    );
    let paid = Changes {
        payment_id: Some("pay_1".into()),
        count_payout_attempt: true,
        ..Changes::default()
    };
    assert!(
        store
            .transition(
                "Request0001",
                "w1",
                RequestState::Quoted,
                RequestState::PayoutPending,
                Changes::default(),
                60_000
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .transition(
                "Request0001",
                "w1",
                RequestState::PayoutPending,
                RequestState::Paid,
                paid,
                60_000
            )
            .await
            .unwrap()
    );
    let row = store.request("Request0001").await.unwrap().unwrap();
    assert_eq!(row.state().unwrap(), RequestState::Paid);
    assert_eq!(row.quote, Some(2_500), "earlier columns are kept");
    assert_eq!(row.payment_id.as_deref(), Some("pay_1"));
    assert_eq!(row.payout_attempts, 1);
    assert_eq!(
        store.history("Request0001").await.unwrap(),
        [
            RequestState::Discovered,
            RequestState::Quoted,
            RequestState::PayoutPending,
            RequestState::Paid
        ]
    );
    // Deferred: released and not due until later.
    store
        .defer("Request0001", "w1", i64::MAX, false)
        .await
        .unwrap();
    assert!(store.claim_next("w2", 60_000).await.unwrap().is_none());
}

async fn an_expired_claim_passes_to_another_worker(store: &Store) {
    store.insert_found(&[request(1)], "w1").await.unwrap();
    let first = store
        .claim_next("w1", -1)
        .await
        .unwrap()
        .expect("claimable");
    let taken = store
        .claim_next("w2", 60_000)
        .await
        .unwrap()
        .expect("expired claim taken over");
    assert_eq!(first.address, taken.address);
    // The first worker has lost it: its transition is refused.
    assert!(
        !store
            .transition(
                &first.address,
                "w1",
                RequestState::Discovered,
                RequestState::Quoted,
                Changes::default(),
                60_000
            )
            .await
            .unwrap()
    );
}

async fn one_ingester_holds_the_lease(store: &Store) {
    assert!(store.acquire_lease("ingester", "w1", 60_000).await.unwrap());
    assert!(
        store.acquire_lease("ingester", "w1", 60_000).await.unwrap(),
        "renewed"
    );
    assert!(!store.acquire_lease("ingester", "w2", 60_000).await.unwrap());
    store.release_lease("ingester", "w1").await.unwrap();
    assert!(store.acquire_lease("ingester", "w2", -1).await.unwrap());
    // w2's lease has expired: w1 takes it back.
    assert!(store.acquire_lease("ingester", "w1", 60_000).await.unwrap());
}

async fn concurrent_claims_never_overlap(store: &Store) {
    let requests: Vec<_> = (1..=40).map(request).collect();
    store.insert_found(&requests, "seed").await.unwrap();
    let claimers = (0..4).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let worker = format!("w{n}");
            let mut mine = Vec::new();
            while let Some(claimed) = store.claim_next(&worker, 60_000).await.unwrap() {
                let moved = store
                    .transition(
                        &claimed.address,
                        &worker,
                        RequestState::Discovered,
                        RequestState::Quoted,
                        Changes::default(),
                        60_000,
                    )
                    .await
                    .unwrap();
                assert!(
                    moved,
                    "{worker} lost {} it had just claimed",
                    claimed.address
                );
                store
                    .defer(&claimed.address, &worker, i64::MAX, false)
                    .await
                    .unwrap();
                mine.push(claimed.address);
            }
            mine
        })
    });
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 40, "every request claimed once: {all:?}");
    assert_eq!(distinct.len(), 40);
}

/// Moves `address` (claimed by `w1`) along `path`, ending in manual review with `reason`.
async fn to_review(store: &Store, address: &str, path: &[RequestState], reason: &str) {
    for pair in path.windows(2) {
        assert!(
            store
                .transition(address, "w1", pair[0], pair[1], Changes::default(), 60_000)
                .await
                .unwrap()
        );
    }
    let last = *path.last().unwrap();
    let changes = Changes {
        review_reason: Some(reason.into()),
        ..Changes::default()
    };
    assert!(
        store
            .transition(
                address,
                "w1",
                last,
                RequestState::ManualReview,
                changes,
                60_000
            )
            .await
            .unwrap()
    );
}

async fn a_person_takes_a_request_out_of_review_and_is_audited(store: &Store) {
    use RequestState::*;
    store.insert_found(&[request(1)], "w1").await.unwrap();
    store.claim_next("w1", 60_000).await.unwrap().unwrap();
    let address = "Request0001";
    for pair in [(Discovered, Quoted), (Quoted, PayoutPending)] {
        assert!(
            store
                .transition(address, "w1", pair.0, pair.1, Changes::default(), 60_000)
                .await
                .unwrap()
        );
    }
    // The worker made three provider calls, then stopped for a person.
    for _ in 0..3 {
        assert!(
            store
                .start_payout_attempt(address, "w1", 60_000)
                .await
                .unwrap()
        );
    }
    assert_eq!(
        store
            .request(address)
            .await
            .unwrap()
            .unwrap()
            .payout_attempts,
        3
    );
    to_review(store, address, &[PayoutPending], "no answer").await;
    assert_eq!(
        store.state_before_review(address).await.unwrap(),
        Some(PayoutPending)
    );
    // The review leaves one attempt of the three, so the provider is asked before any call.
    let retry = ReviewAction {
        action: "retry".into(),
        by: "alice".into(),
        reason: "provider fixed the payee".into(),
        payment_id: None,
        to: PayoutPending,
    };
    assert!(
        store
            .apply_review(address, 1_700_000_000, &retry)
            .await
            .unwrap()
    );
    let row = store.request(address).await.unwrap().unwrap();
    assert_eq!(row.state().unwrap(), PayoutPending);
    assert_eq!(row.payout_attempts, 1);
    assert_eq!(row.claimed_by, None, "any worker may take it");
    // Not in review any more: a second action changes nothing.
    assert!(
        !store
            .apply_review(address, 1_700_000_000, &retry)
            .await
            .unwrap()
    );

    store.claim_next("w1", 60_000).await.unwrap().unwrap();
    to_review(store, address, &[PayoutPending], "no answer").await;
    let paid = ReviewAction {
        action: "mark_paid".into(),
        by: "bob".into(),
        reason: "found in the provider's dashboard".into(),
        payment_id: Some("pay_9".into()),
        to: Paid,
    };
    assert!(
        store
            .apply_review(address, 1_700_000_000, &paid)
            .await
            .unwrap()
    );
    let row = store.request(address).await.unwrap().unwrap();
    assert_eq!(
        (row.state().unwrap(), row.payment_id.as_deref()),
        (Paid, Some("pay_9"))
    );
    assert_eq!(
        store.review_actions(address).await.unwrap(),
        vec![retry, paid]
    );
    assert_eq!(
        store.history(address).await.unwrap(),
        [
            Discovered,
            Quoted,
            PayoutPending,
            ManualReview,
            PayoutPending,
            ManualReview,
            Paid
        ]
    );
}

/// The stored state of `address`.
async fn state_of(store: &Store, address: &str) -> RequestState {
    let row = store.request(address).await.unwrap().expect("stored");
    row.state().unwrap()
}

/// Moves `address` (claimed by `worker`) along `path`.
async fn walk(store: &Store, address: &str, worker: &str, path: &[RequestState]) {
    for pair in path.windows(2) {
        assert!(
            store
                .transition(
                    address,
                    worker,
                    pair[0],
                    pair[1],
                    Changes::default(),
                    60_000
                )
                .await
                .unwrap(),
            "{address}: {} -> {}",
            pair[0],
            pair[1]
        );
    }
}

async fn a_batch_settles_its_pools_waiting_requests_together(store: &Store) {
    use RequestState::*;
    let mut other_pool = request(9);
    other_pool.pool = "OtherPool".into();
    let requests = [
        request(1),
        request(2),
        request(3),
        request(4),
        request(5),
        other_pool,
        request(10),
    ];
    store.insert_found(&requests, "seed").await.unwrap();
    // Requests 1–5 and the other pool's are quoted (claimed oldest first); request 10 is still
    // discovered. w1 keeps its claim on request 1 (it leads the batch) and w2 on request 3;
    // request 5's claim (by w5) has expired; the others are let go.
    for (address, worker, keeps_claim) in [
        ("Request0001", "w1", true),
        ("Request0002", "s2", false),
        ("Request0003", "w2", true),
        ("Request0004", "s4", false),
        ("Request0005", "w5", true),
        ("Request0009", "s9", false),
    ] {
        let claimed = store.claim_next(worker, 60_000).await.unwrap().unwrap();
        assert_eq!(claimed.address, address);
        walk(store, address, worker, &[Discovered, Quoted]).await;
        if !keeps_claim {
            store.defer(address, worker, i64::MAX, false).await.unwrap();
        }
    }
    // w1 leads request 1: its companions are the pool's other quoted rows nobody else holds,
    // whatever their due time.
    store.defer("Request0005", "w5", 0, false).await.unwrap();
    store.claim_next("w5", -1).await.unwrap();
    let oldest = store
        .claim_companions("w1", "Request0001", "Pool", Quoted, 1, 60_000)
        .await
        .unwrap();
    let names: Vec<_> = oldest.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(names, ["Request0002"], "the oldest, up to the limit");
    let companions = store
        .claim_companions("w1", "Request0001", "Pool", Quoted, 5, 60_000)
        .await
        .unwrap();
    let names: Vec<_> = companions.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(
        names,
        ["Request0002", "Request0004", "Request0005"],
        "its own, free and expired claims, not w2's live one"
    );
    assert!(
        store
            .claim_companions("w2", "Request0003", "Pool", Quoted, 5, 60_000)
            .await
            .unwrap()
            .is_empty(),
        "request 2 is w1's now"
    );
    // w1 stores one transaction in both rows.
    let batch = ["Request0001".to_owned(), "Request0002".to_owned()];
    let sent = Changes {
        settle_tx: Some("AAAA".into()),
        settle_signature: Some("BatchSig".into()),
        settle_last_valid_height: Some(500),
        settle_sent_ms: Some(1_000),
        ..Changes::default()
    };
    // Not with request 3, which w1 does not hold: nothing is stored then.
    let with_foreign = ["Request0001".to_owned(), "Request0003".to_owned()];
    assert!(
        !store
            .transition_all(
                &with_foreign,
                "w1",
                Quoted,
                SettleSent,
                sent.clone(),
                60_000
            )
            .await
            .unwrap()
    );
    assert_eq!(state_of(store, "Request0001").await, Quoted, "all or none");
    assert!(
        store
            .transition_all(&batch, "w1", Quoted, SettleSent, sent, 60_000)
            .await
            .unwrap()
    );
    for address in &batch {
        assert_eq!(state_of(store, address).await, SettleSent);
        let row = store.request(address).await.unwrap().unwrap();
        assert_eq!(row.settle_signature.as_deref(), Some("BatchSig"));
        assert_eq!(row.settle_sent_ms, Some(1_000));
    }
    // A resend is taken once the last send is two seconds old, by one follower only, and every
    // request the transaction carries then knows when; a clock far behind the stored time (another
    // machine's) does not hold it back.
    let sent_at = |store: &Store, address: &'static str| {
        let store = store.clone();
        async move {
            let row = store.request(address).await.unwrap().unwrap();
            row.settle_sent_ms
        }
    };
    assert!(!store.take_resend("BatchSig", 2_999, 2_000).await.unwrap());
    assert!(store.take_resend("BatchSig", 3_000, 2_000).await.unwrap());
    assert!(
        !store.take_resend("BatchSig", 3_000, 2_000).await.unwrap(),
        "taken once"
    );
    for address in ["Request0001", "Request0002"] {
        assert_eq!(sent_at(store, address).await, Some(3_000), "{address}");
    }
    assert!(!store.take_resend("BatchSig", 1_000, 2_000).await.unwrap());
    assert!(store.take_resend("BatchSig", 900, 2_000).await.unwrap());
    assert_eq!(
        sent_at(store, "Request0003").await,
        None,
        "a request of no transaction"
    );
    // Two followers at once (two connections): exactly one takes the resend.
    let other = store.clone();
    let (first, second) = tokio::join!(
        store.take_resend("BatchSig", 5_000, 2_000),
        other.take_resend("BatchSig", 5_000, 2_000)
    );
    assert!(
        first.unwrap() != second.unwrap(),
        "one of two simultaneous takes"
    );
    // Request 1 sees the transaction land: request 2 is settled with it, nothing else is (the
    // lead moves by its own transition).
    let settled = store
        .settle_companions("BatchSig", "Request0001", "w1")
        .await
        .unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(state_of(store, "Request0001").await, SettleSent);
    // A request settled no longer takes its transaction's resends; one still waiting does.
    assert!(store.take_resend("BatchSig", 10_000, 2_000).await.unwrap());
    assert_eq!(sent_at(store, "Request0001").await, Some(10_000));
    assert_eq!(
        sent_at(store, "Request0002").await,
        Some(5_000),
        "settled: left as it was"
    );
    walk(store, "Request0001", "w1", &[SettleSent, Settled]).await;
    assert_eq!(
        store.history("Request0002").await.unwrap(),
        [Discovered, Quoted, SettleSent, Settled]
    );
    for (address, state) in [
        ("Request0003", Quoted),
        ("Request0004", Quoted),
        ("Request0010", Discovered),
        ("Request0009", Quoted),
    ] {
        assert_eq!(state_of(store, address).await, state, "{address}");
    }
    assert!(
        store
            .settle_companions("BatchSig", "Request0001", "w1")
            .await
            .unwrap()
            .is_empty(),
        "settled once"
    );
}

async fn due_requests_in_a_state_are_claimed_together(store: &Store) {
    use RequestState::*;
    let requests: Vec<_> = (1..=6).map(request).collect();
    store.insert_found(&requests, "seed").await.unwrap();
    // Requests 1–5 are quoted (6 stays discovered). Request 2 is not due yet, w2 holds request 3
    // and request 4's claim (by w4) has expired.
    for (address, worker, due_at_ms, keeps_claim) in [
        ("Request0001", "w1", 0, true),
        ("Request0002", "s2", now_ms() + 30_000, false),
        ("Request0003", "w2", 0, true),
        ("Request0004", "w4", 0, true),
        ("Request0005", "s5", 0, false),
    ] {
        let claimed = store.claim_next(worker, 60_000).await.unwrap().unwrap();
        assert_eq!(claimed.address, address);
        walk(store, address, worker, &[Discovered, Quoted]).await;
        if !keeps_claim {
            store
                .defer(address, worker, due_at_ms, false)
                .await
                .unwrap();
        }
    }
    store.defer("Request0004", "w4", 0, false).await.unwrap();
    store.claim_next("w4", -1).await.unwrap();
    let oldest = store
        .claim_due("w1", "Request0001", &[Quoted], 1, 60_000, 0)
        .await
        .unwrap();
    let names: Vec<_> = oldest.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(names, ["Request0004"], "the oldest, up to the limit");
    let due = store
        .claim_due("w1", "Request0001", &[Quoted], 10, 60_000, 0)
        .await
        .unwrap();
    let names: Vec<_> = due.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(
        names,
        ["Request0004", "Request0005"],
        "due, free or expired or its own: not the lead, not request 2 (later), not w2's request 3, not request 6 (discovered)"
    );
    assert!(
        store
            .claim_due("w2", "Request0003", &[Quoted], 10, 60_000, 0)
            .await
            .unwrap()
            .is_empty(),
        "requests 4 and 5 are w1's now, request 2 free but later"
    );
    assert!(
        store
            .claim_due("w1", "Request0001", &[Quoted], 0, 60_000, 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Request 2 falls due within a minute: taken along when the horizon reaches it.
    let within = store
        .claim_due("w1", "Request0001", &[Quoted], 10, 60_000, 60_000)
        .await
        .unwrap();
    let names: Vec<_> = within.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(names, ["Request0002", "Request0004", "Request0005"]);
    assert!(
        within[0].next_attempt_ms > now_ms() && within[1].next_attempt_ms <= now_ms(),
        "each row says when it is due: the worker reads the early ones without acting early"
    );
    // The claims are real: w1 can move them, w2 cannot.
    walk(store, "Request0005", "w1", &[Quoted, PayoutPending]).await;
    assert!(
        !store
            .transition(
                "Request0004",
                "w2",
                Quoted,
                PayoutPending,
                Changes::default(),
                60_000
            )
            .await
            .unwrap()
    );
    // Requests still to quote are taken along with those to lock (the worker quotes and locks
    // them in one pass): request 6, discovered, joins request 4; request 5 has moved on.
    let to_lock = store
        .claim_due("w1", "Request0001", &[Discovered, Quoted], 10, 60_000, 0)
        .await
        .unwrap();
    let names: Vec<_> = to_lock.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(names, ["Request0004", "Request0006"]);
}

/// A batch's claims are released together, each due at its own time (a row named twice at its
/// first); a row another worker holds keeps its claim and its due time.
async fn a_batch_is_deferred_in_one_go(store: &Store) {
    let requests: Vec<_> = (1..=3).map(request).collect();
    store.insert_found(&requests, "seed").await.unwrap();
    store.claim_next("w1", 60_000).await.unwrap().unwrap();
    let along = store
        .claim_due(
            "w1",
            "Request0001",
            &[RequestState::Discovered],
            1,
            60_000,
            0,
        )
        .await
        .unwrap();
    assert_eq!(along[0].address, "Request0002");
    store.claim_next("w2", 60_000).await.unwrap().unwrap();
    let later = now_ms() + 30_000;
    store
        .defer_all(
            &[
                ("Request0001".into(), later),
                ("Request0002".into(), later + 1),
                ("Request0003".into(), later + 2),
                ("Request0001".into(), later - 7),
            ],
            "w1",
        )
        .await
        .unwrap();
    let rows = store.requests().await.unwrap();
    let due: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.address.as_str(),
                r.claimed_by.as_deref(),
                r.next_attempt_ms,
            )
        })
        .collect();
    assert_eq!(
        due,
        [
            ("Request0001", None, later),
            ("Request0002", None, later + 1),
            ("Request0003", Some("w2"), 0),
        ]
    );
    assert!(
        store.claim_next("w3", 60_000).await.unwrap().is_none(),
        "none due before its time"
    );
}

/// A batch of quotes moves each request on its own, with its own quote, in one commit: a row
/// another worker holds, or one already moved, stays as it is, and each moved row's history
/// records the move.
async fn each_request_of_a_batch_moves_with_its_own_changes(store: &Store) {
    use RequestState::*;
    let requests: Vec<_> = (1..=5).map(request).collect();
    store.insert_found(&requests, "seed").await.unwrap();
    store.claim_next("w1", 60_000).await.unwrap().unwrap();
    store
        .claim_due("w1", "Request0001", &[Discovered], 1, 60_000, 0)
        .await
        .unwrap();
    let other = store.claim_next("w2", 60_000).await.unwrap().unwrap();
    assert_eq!(other.address, "Request0003");
    store
        .claim_due("w1", "Request0001", &[Discovered], 10, 60_000, 0)
        .await
        .unwrap();
    walk(store, "Request0004", "w1", &[Discovered, Quoted]).await;
    let quote = |cents| Changes {
        quote: Some(cents),
        ..Changes::default()
    };
    let mut moves: Vec<(String, Changes)> = (1..=4)
        .map(|n| (format!("Request000{n}"), quote(1_000 * n)))
        .collect();
    // Request 5's quote is request 1's (one statement moves both); request 2 comes again with
    // that same quote, and its first move's quote is the one written.
    moves.push(("Request0005".into(), quote(1_000)));
    moves.push(("Request0002".into(), quote(1_000)));
    let moved = store
        .transition_each(&moves, "w1", Discovered, Quoted, 60_000)
        .await
        .unwrap();
    assert_eq!(
        moved,
        [true, true, false, false, true, false],
        "request 3 is w2's, request 4 is no longer discovered, request 2 moved once"
    );
    let quotes: Vec<_> = store
        .requests()
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.address, row.state_name, row.quote))
        .collect();
    assert_eq!(
        quotes,
        [
            ("Request0001".into(), "quoted".into(), Some(1_000)),
            ("Request0002".into(), "quoted".into(), Some(2_000)),
            ("Request0003".into(), "discovered".into(), None),
            ("Request0004".into(), "quoted".into(), None),
            ("Request0005".into(), "quoted".into(), Some(1_000)),
        ]
    );
    for (address, history) in [
        ("Request0001", &[Discovered, Quoted][..]),
        ("Request0002", &[Discovered, Quoted]),
        ("Request0003", &[Discovered]),
        ("Request0004", &[Discovered, Quoted]),
        ("Request0005", &[Discovered, Quoted]),
    ] {
        assert_eq!(store.history(address).await.unwrap(), history, "{address}");
    }
}

/// The time in each state is read from the transitions: each state left is counted once a
/// visit, with at least the pause the request spent in it.
async fn time_in_each_state_comes_from_the_transitions(store: &Store) {
    use RequestState::*;
    store
        .insert_found(&[request(1), request(2)], "w1")
        .await
        .unwrap();
    for worker in ["w1", "w2"] {
        store
            .claim_next(worker, 60_000)
            .await
            .unwrap()
            .expect("a due request");
    }
    let path = [Discovered, Quoted, PayoutPending];
    for pair in path.windows(2) {
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        walk(store, "Request0001", "w1", pair).await;
    }
    walk(store, "Request0002", "w2", &[Discovered, Quoted]).await;
    let transitions = store.transitions().await.unwrap();
    assert_eq!(transitions.len(), 5, "two found, three moves");
    let only_the_second = time_in_states(&transitions, |address| address == "Request0002");
    assert_eq!(only_the_second.len(), 1);
    assert_eq!(
        (only_the_second[0].state, only_the_second[0].visits),
        (Discovered, 1)
    );
    let times = time_in_states(&transitions, |_| true);
    let states: Vec<_> = times.iter().map(|t| t.state).collect();
    assert_eq!(
        states,
        [Discovered, Quoted],
        "only the states left, in order"
    );
    assert_eq!(times[0].visits, 2);
    assert_eq!(times[1].visits, 1);
    assert!(times[1].total_ms >= 40, "{times:?}");
    assert_eq!(times[1].longest_ms, times[1].total_ms);
    assert!(times[0].longest_ms >= 40 && times[0].total_ms >= times[0].longest_ms);
    assert_eq!(times[0].mean_ms(), times[0].total_ms / 2);
}

/// Batches larger than one statement's rows (the store writes up to 100 rows a statement) are
/// written whole: every found request once, with its first row of history; a batch of 250
/// moves together, each with its next row of history; and their claims are released together.
async fn batches_larger_than_one_statement_are_written_whole(store: &Store) {
    use RequestState::*;
    let known: Vec<_> = (1..=10).map(request).collect();
    assert_eq!(store.insert_found(&known, "seed").await.unwrap(), 10);
    let all: Vec<_> = (1..=250).map(request).collect();
    assert_eq!(
        store.insert_found(&all, "seed").await.unwrap(),
        240,
        "the ten known ones are left alone"
    );
    let lead = store.claim_next("w1", 60_000).await.unwrap().unwrap();
    let companions = store
        .claim_companions("w1", &lead.address, "Pool", Discovered, 249, 60_000)
        .await
        .unwrap();
    assert_eq!(companions.len(), 249);
    let addresses: Vec<String> = all.iter().map(|r| r.address.clone()).collect();
    let quoted = Changes {
        quote: Some(2_500),
        ..Changes::default()
    };
    // All or none across statements: a request the store does not hold, or one named twice,
    // in the third statement's rows leaves the first two statements' rows as they were.
    for last in ["Request0999", "Request0001"] {
        let mut refused = addresses.clone();
        refused.push(last.into());
        assert!(
            !store
                .transition_all(&refused, "w1", Discovered, Quoted, quoted.clone(), 60_000)
                .await
                .unwrap(),
            "{last}"
        );
        for row in store.requests().await.unwrap() {
            assert_eq!(row.state().unwrap(), Discovered, "{last}: {}", row.address);
        }
    }
    assert!(
        store
            .transition_all(&addresses, "w1", Discovered, Quoted, quoted, 60_000)
            .await
            .unwrap()
    );
    let transitions = store.transitions().await.unwrap();
    for address in &addresses {
        let path: Vec<_> = transitions
            .iter()
            .filter(|t| &t.address == address)
            .map(|t| (t.from, t.to))
            .collect();
        assert_eq!(
            path,
            [(None, Discovered), (Some(Discovered), Quoted)],
            "{address}"
        );
    }
    let later = now_ms() + 30_000;
    let due: Vec<(String, i64)> = addresses
        .iter()
        .enumerate()
        .map(|(n, address)| (address.clone(), later + (n % 2) as i64))
        .collect();
    store.defer_all(&due, "w1").await.unwrap();
    for row in store.requests().await.unwrap() {
        assert_eq!(row.state().unwrap(), Quoted);
        assert_eq!(row.quote, Some(2_500));
        assert_eq!(row.claimed_by, None, "{}", row.address);
        let n: usize = row.address["Request".len()..].parse().unwrap();
        assert_eq!(row.next_attempt_ms, later + ((n - 1) % 2) as i64);
    }
}

/// One ingest stamps all the requests it stores with one `discovered_at_ms`; among them the
/// history's order (their slots) decides which is claimed first, not their addresses: here the
/// addresses run against the slots.
async fn requests_found_together_are_claimed_in_history_order(store: &Store) {
    let at_slot = |n: u32, slot: i64| NewRequest { slot, ..request(n) };
    let history = [
        read("Sig3", 201, vec![at_slot(3, 201)]),
        read("Sig2", 202, vec![at_slot(2, 202)]),
        read("Sig1", 203, vec![at_slot(1, 203)]),
    ];
    assert_eq!(store.ingest("prog", &history, "w1").await.unwrap(), 3);
    let found_at: HashSet<i64> = store
        .requests()
        .await
        .unwrap()
        .iter()
        .map(|row| row.discovered_at_ms)
        .collect();
    assert_eq!(found_at.len(), 1, "one ingest, one discovery time");
    let lead = store.claim_next("w1", 60_000).await.unwrap().unwrap();
    assert_eq!(lead.address, "Request0003");
    let rest = store
        .claim_due(
            "w1",
            &lead.address,
            &[RequestState::Discovered],
            10,
            60_000,
            0,
        )
        .await
        .unwrap();
    let names: Vec<_> = rest.iter().map(|row| row.address.as_str()).collect();
    assert_eq!(names, ["Request0002", "Request0001"]);
    let listed: Vec<_> = store
        .requests()
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.address)
        .collect();
    assert_eq!(listed, ["Request0003", "Request0002", "Request0001"]);
}

/// Requests 1–3 found; `w1` claims request 1 (the oldest), and a worker that dies at once holds
/// requests 2 and 3 (its claims expired on taking them).
async fn w1_and_a_dead_worker_hold_three_requests(store: &Store) {
    let requests: Vec<_> = (1..=3).map(request).collect();
    store.insert_found(&requests, "seed").await.unwrap();
    let first = store.claim_next("w1", 60_000).await.unwrap().unwrap();
    assert_eq!(first.address, "Request0001");
    let dead = store
        .claim_due("dead", "Request0001", &[RequestState::Discovered], 2, -1, 0)
        .await
        .unwrap();
    let names: Vec<_> = dead.iter().map(|row| row.address.as_str()).collect();
    assert_eq!(names, ["Request0002", "Request0003"]);
}

/// `worker` claims exactly `expected`, in that order (each put off a minute once claimed), then
/// nothing.
async fn claims_in_order(store: &Store, worker: &str, expected: &[&str]) {
    for expected in expected {
        let claimed = store.claim_next(worker, 60_000).await.unwrap().unwrap();
        assert_eq!(claimed.address, *expected);
        store
            .defer(&claimed.address, worker, now_ms() + 60_000, false)
            .await
            .unwrap();
    }
    assert!(store.claim_next(worker, 60_000).await.unwrap().is_none());
}

/// Rows whose claims expired (a worker that died) are claimed before free ones, even older
/// free ones: a dead worker's requests do not wait behind a backlog.
async fn expired_claims_are_taken_before_older_free_rows(store: &Store) {
    w1_and_a_dead_worker_hold_three_requests(store).await;
    store.release_claim("Request0001", "w1").await.unwrap();
    claims_in_order(store, "w2", &["Request0002", "Request0003", "Request0001"]).await;
}

/// Paced, a worker whose look for held rows found none passes over expired claims until its
/// next look; a worker that has not looked yet takes them at once, one claim after another while
/// its looks find some; a batch's look at some states finding none pauses nothing.
async fn paced_claims_pass_over_held_rows_between_looks(store: &Store) {
    use RequestState::*;
    let store = store.clone().with_held_looks_every(60_000);
    // w1 looks (none held) and takes the oldest free row.
    w1_and_a_dead_worker_hold_three_requests(&store).await;
    assert!(
        store.claim_next("w1", 60_000).await.unwrap().is_none(),
        "w1 does not look again for a minute"
    );
    claims_in_order(&store, "w2", &["Request0002", "Request0003"]).await;
    // A batch's look (some states only) that finds none does not pause the worker's next
    // claim: w3 still takes a dead worker's expired request before an older free one.
    store
        .insert_found(&[request(4), request(5)], "seed")
        .await
        .unwrap();
    let dead = store
        .claim_due("dead", "Request0004", &[Discovered], 1, -1, 0)
        .await
        .unwrap();
    assert_eq!(dead[0].address, "Request0005");
    let none_quoted = store
        .claim_due("w3", "Request0004", &[Quoted], 10, 60_000, 0)
        .await
        .unwrap();
    assert!(none_quoted.is_empty());
    let claimed = store.claim_next("w3", 60_000).await.unwrap().unwrap();
    assert_eq!(claimed.address, "Request0005");
}

/// Request ids are the clients' choice: once a request is final and closed on chain, a later
/// request can take its address. A row the bridge is done with (settled, withdrawn) gives the
/// address to a request made later, and is kept in `earlier_requests`; the same request found
/// again, an earlier one read late, or a row still open or in review keep the address.
async fn a_later_request_takes_the_address_of_a_row_done_with(store: &Store) {
    use RequestState::*;
    let made = |n: u32, created_at: i64, amount: i64| NewRequest {
        created_at,
        amount,
        ..request(n)
    };
    let first = request(1);
    let address = first.address.clone();
    store
        .insert_found(std::slice::from_ref(&first), "w1")
        .await
        .unwrap();
    store.claim_next("w1", 60_000).await.unwrap().unwrap();
    let settled = Changes {
        payment_id: Some("pay_1".into()),
        settled_at_ms: Some(now_ms()),
        ..Changes::default()
    };
    assert!(
        store
            .transition(&address, "w1", Discovered, Settled, settled, 60_000)
            .await
            .unwrap()
    );
    // Found again (history read twice, a scan of open requests), or an earlier request read
    // late (each alone: one insert keeps only the latest made at an address).
    let read_late = made(1, first.created_at - 1, 7);
    for again in [&first, &read_late] {
        let again = std::slice::from_ref(again);
        assert_eq!(store.insert_found(again, "w1").await.unwrap(), 0);
        assert_eq!(
            store
                .ingest("prog", &[read("SigA", 200, again.to_vec())], "w1")
                .await
                .unwrap(),
            0
        );
    }
    assert_eq!(state_of(store, &address).await, Settled);
    assert!(store.earlier_requests().await.unwrap().is_empty());

    // A request made later at the address: it takes the row, the earlier row is kept.
    let later = made(1, first.created_at + 5, 2_000);
    assert_eq!(
        store
            .ingest("prog", &[read("SigB", 201, vec![later.clone()])], "w1")
            .await
            .unwrap(),
        1
    );
    let row = store.request(&address).await.unwrap().unwrap();
    assert_eq!(
        (
            row.state().unwrap(),
            row.created_at,
            row.amount,
            row.payment_id.as_deref()
        ),
        (Discovered, later.created_at, 2_000, None)
    );
    assert_eq!(
        row.payout_key(),
        format!("allot-payout-{address}-{}", later.created_at)
    );
    let kept = store.earlier_requests().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (
            kept[0].address.as_str(),
            kept[0].state().unwrap(),
            kept[0].created_at,
            kept[0].payment_id.as_deref(),
            kept[0].payout_key()
        ),
        (
            address.as_str(),
            Settled,
            first.created_at,
            Some("pay_1"),
            format!("allot-payout-{address}-{}", first.created_at)
        )
    );
    // The address's audit trail goes on from the earlier request's.
    assert_eq!(
        store.history(&address).await.unwrap(),
        [Discovered, Settled, Discovered]
    );
    // The later request is claimed like any other.
    let claimed = store.claim_next("w2", 60_000).await.unwrap().unwrap();
    assert_eq!(
        (claimed.address.as_str(), claimed.amount),
        (address.as_str(), 2_000)
    );

    // A row still open, or in review, keeps its address (the worker withdraws it, or sends it to
    // review where a person closes it, before the later request is taken up).
    store
        .insert_found(&[request(2), request(3)], "w1")
        .await
        .unwrap();
    let claimed = store.claim_next("w3", 60_000).await.unwrap().unwrap();
    assert_eq!(claimed.address, "Request0002");
    walk(store, "Request0002", "w3", &[Discovered, Quoted]).await;
    let claimed = store.claim_next("w1", 60_000).await.unwrap().unwrap();
    assert_eq!(claimed.address, "Request0003");
    to_review(
        store,
        "Request0003",
        &[Discovered],
        "not the request this row stored",
    )
    .await;
    let reopened = [
        made(2, first.created_at + 5, 9),
        made(3, first.created_at + 5, 9),
    ];
    assert_eq!(store.insert_found(&reopened, "w1").await.unwrap(), 0);
    assert_eq!(state_of(store, "Request0002").await, Quoted);
    assert_eq!(state_of(store, "Request0003").await, ManualReview);
    // Once closed by a person (withdrawn), the next pass takes the later request up; of two
    // found at once, the latest.
    let close = ReviewAction {
        action: "close".into(),
        by: "carol".into(),
        reason: "closed and reopened".into(),
        payment_id: None,
        to: Withdrawn,
    };
    // Named for another request at the address: nothing done.
    let made_at = first.created_at;
    assert!(
        !store
            .apply_review("Request0003", made_at + 1, &close)
            .await
            .unwrap()
    );
    assert!(
        store
            .apply_review("Request0003", made_at, &close)
            .await
            .unwrap()
    );
    let two_later = [
        made(3, first.created_at + 5, 9),
        made(3, first.created_at + 9, 11),
    ];
    assert_eq!(store.insert_found(&two_later, "w1").await.unwrap(), 1);
    let row = store.request("Request0003").await.unwrap().unwrap();
    assert_eq!(
        (row.state().unwrap(), row.created_at, row.amount),
        (Discovered, first.created_at + 9, 11)
    );
    // At an address new to the store, of two requests found at once the latest is stored (the
    // other was closed, since a later one took its address).
    let both = [
        made(4, first.created_at, 1),
        made(4, first.created_at + 3, 12),
    ];
    assert_eq!(store.insert_found(&both, "w1").await.unwrap(), 1);
    let row = store.request("Request0004").await.unwrap().unwrap();
    assert_eq!((row.created_at, row.amount), (first.created_at + 3, 12));
    assert_eq!(store.history("Request0004").await.unwrap(), [Discovered]);
    let kept = store.earlier_requests().await.unwrap();
    let kept: Vec<_> = kept
        .iter()
        .map(|r| (r.address.as_str(), r.state().unwrap(), r.created_at))
        .collect();
    assert_eq!(
        kept,
        [
            (address.as_str(), Settled, first.created_at),
            ("Request0003", Withdrawn, first.created_at)
        ]
    );
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let (_dir, store) = super::sqlite().await;
                    super::$name(&store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let server = allot_bridge::test_support::postgres::TestPostgres::start()
                        .expect("a PostgreSQL server");
                    let store = super::postgres(&server).await;
                    super::$name(&store).await;
                    store.close().await;
                }
            )*
        }
        mod on_postgres_over_tls {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let server = allot_bridge::test_support::postgres::TestPostgres::start_tls()
                        .expect("a PostgreSQL server that takes TLS only");
                    let store = super::postgres(&server).await;
                    super::$name(&store).await;
                    store.close().await;
                }
            )*
        }
    };
}

on_both_databases!(
    ingest_is_atomic_and_idempotent,
    the_cursor_slot_remembers_what_was_read_in_it,
    transitions_need_the_state_and_the_claim,
    an_expired_claim_passes_to_another_worker,
    one_ingester_holds_the_lease,
    concurrent_claims_never_overlap,
    a_person_takes_a_request_out_of_review_and_is_audited,
    a_batch_settles_its_pools_waiting_requests_together,
    due_requests_in_a_state_are_claimed_together,
    time_in_each_state_comes_from_the_transitions,
    a_batch_is_deferred_in_one_go,
    each_request_of_a_batch_moves_with_its_own_changes,
    batches_larger_than_one_statement_are_written_whole,
    requests_found_together_are_claimed_in_history_order,
    expired_claims_are_taken_before_older_free_rows,
    paced_claims_pass_over_held_rows_between_looks,
    a_later_request_takes_the_address_of_a_row_done_with,
);

/// A database the bridge used before migration 0007 (`payout_key`): its rows keep the
/// address-only idempotency key they may already have been paid under (a new key would find no
/// payment at the provider and pay again); rows discovered after it name their `created_at`;
/// and a bridge of the older version still running can neither start a payout nor store a
/// request without a key.
async fn rows_from_before_keep_their_payout_key(url: &str) {
    sqlx::any::install_default_drivers();
    let migrations = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"));
    let mut before = sqlx::migrate::Migrator::new(migrations).await.unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|migration| migration.version < 7)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    before.run(&pool).await.unwrap();
    sqlx::query(&insert_before_0007("Paying", "payout_pending"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let store = Store::open(url).await.expect("migrated to the latest");
    let paying = store.request("Paying").await.unwrap().expect("kept");
    assert_eq!(paying.stored_payout_key, None);
    assert_eq!(paying.payout_key(), "allot-payout-Paying");
    assert_eq!(store.insert_found(&[request(2)], "w1").await.unwrap(), 1);
    let later = store.request("Request0002").await.unwrap().expect("stored");
    assert_eq!(later.payout_key(), "allot-payout-Request0002-1700000000");
    // A worker of the older version still running on this database counts a provider call
    // before making it, as `payout_attempts`: that statement now fails, so it pays nothing.
    let older_worker = sqlx::AnyPool::connect(url).await.unwrap();
    let counted = sqlx::query(
        "UPDATE requests SET payout_attempts = payout_attempts + 1 WHERE address = 'Paying'",
    )
    .execute(&older_worker)
    .await;
    let refused = counted.expect_err("an older worker's call count must fail");
    assert!(refused.to_string().contains("payout_attempts"), "{refused}");
    // Nor can its ingester store a request without a key.
    let inserted = sqlx::query(&insert_before_0007("Keyless", "discovered"))
        .execute(&older_worker)
        .await;
    let refused = inserted.expect_err("an older ingester's insert must fail");
    assert!(
        refused.to_string().contains("discovered_signature"),
        "{refused}"
    );
    older_worker.close().await;
    assert!(store.request("Keyless").await.unwrap().is_none());
    assert_eq!(
        store
            .request("Paying")
            .await
            .unwrap()
            .unwrap()
            .payout_attempts,
        0
    );
    store.close().await;
}

/// A request row `address` in `state` as a bridge before migration 0007 inserted it.
fn insert_before_0007(address: &str, state: &str) -> String {
    format!(
        "INSERT INTO requests (address, pool, request_id, user_key, amount, rate, quoted, \
           currency, created_at, discovered_signature, discovered_slot, discovered_at_ms, state, \
           updated_at_ms) \
         VALUES ('{address}', 'Pool', 1, 'User1', 1000, 25000, 2500, 'USD', 1700000000, 'Sig1', \
           101, 1, '{state}', 1)"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_from_before_keep_their_payout_key_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bridge.db").display()
    );
    rows_from_before_keep_their_payout_key(&url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_from_before_keep_their_payout_key_on_postgres() {
    let server = TestPostgres::start().expect("a PostgreSQL server");
    let database = server.database().await.expect("test database");
    rows_from_before_keep_their_payout_key(&database.url).await;
}

/// The store's connections are encrypted and the server's certificate verified
/// (`sslmode=verify-full`): the server itself reports TLS for them, a plaintext connection is
/// refused, and a certificate from another authority is not accepted.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_over_tls_is_encrypted_and_verified() {
    use sqlx::Connection as _;
    let server = TestPostgres::start_tls().expect("a PostgreSQL server that takes TLS only");
    let database = server.database().await.expect("test database");
    assert!(
        database.url.contains("sslmode=verify-full"),
        "{}",
        database.url
    );
    let store = Store::open(&database.url)
        .await
        .expect("store opens over TLS");
    assert_eq!(
        store
            .ingest("prog", &[read("Sig1", 101, vec![request(1)])], "w1")
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.requests().await.unwrap().len(), 1);
    store.close().await;

    let mut connection = sqlx::PgConnection::connect(&database.url).await.unwrap();
    let (ssl, version): (bool, String) =
        sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut connection)
            .await
            .unwrap();
    assert!(ssl, "the server sees a plaintext connection");
    assert!(version.starts_with("TLSv1."), "{version}");
    connection.close().await.unwrap();

    let Err(error) = Store::open(&server.plaintext_admin_url()).await else {
        panic!("a plaintext connection is accepted");
    };
    assert!(error.to_string().contains("no encryption"), "{error:#}");

    // Another authority's certificate: verify-full fails before any query.
    let other = TestPostgres::start_tls().expect("a second TLS server");
    let wrong_ca = database.url.replace(
        server.ca_file().unwrap().to_str().unwrap(),
        other.ca_file().unwrap().to_str().unwrap(),
    );
    assert_ne!(wrong_ca, database.url);
    assert!(
        Store::open(&wrong_ca).await.is_err(),
        "an unknown authority is accepted"
    );
}

#[tokio::test]
async fn an_unknown_database_url_is_named() {
    let error = Store::open("mysql://localhost/bridge").await.unwrap_err();
    assert!(error.to_string().contains("use sqlite://"), "{error}");
}
