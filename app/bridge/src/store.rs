//! The bridge's database: SQLite (embedded default: one file, WAL, one writer) or PostgreSQL
//! (several workers), one schema and one set of queries through sqlx's Any driver. Every change
//! of a request's state is a conditional update (expected state, claim held) plus an audit row,
//! in one database transaction.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor, FromRow};

use crate::held_looks::HeldLooks;
use crate::http_provider::{idempotency_key, legacy_idempotency_key};
use crate::state::{ALL_STATES, RequestState, UnknownState};

mod earlier;

/// The migrations (`app/bridge/migrations`), embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Most rows one statement writes (requests found, moved or deferred together): with the 14
/// values of a found request, 1,400 bound parameters, well inside SQLite's 32,766 and
/// PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 100;

/// States a worker still has something to do for.
const OPEN_STATES: &str = "('discovered', 'quoted', 'payout_pending', 'paid', 'settle_sent')";

/// The order requests are claimed and listed in: first found first (a worker finishes the
/// requests it began before it starts new ones); among those one ingest found together (one
/// `discovered_at_ms`), the order of the history's slots, then the address. The order of the
/// index `requests_free_in_claim_order`, so a claim reads only the index entries up to the rows it
/// takes.
const CLAIM_ORDER: &str = "discovered_at_ms, discovered_slot, address";

/// The columns of [`StoredRequest`], in its field order.
const REQUEST_COLUMNS: &str = "address, pool, request_id, user_key, amount, rate, quoted, \
     currency, created_at, discovered_in_signature, discovered_slot, discovered_at_ms, state, quote, \
     payment_id, payout_calls, settle_tx, settle_signature, settle_last_valid_height, \
     settled_at_ms, review_reason, claimed_by, next_attempt_ms, settle_sent_ms, payout_key";

/// A person's action on a request in manual review, as audited in `review_actions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewAction {
    /// `retry`, `mark_paid`, `reject` or `close`.
    pub action: String,
    /// Who took it.
    pub by: String,
    /// Why.
    pub reason: String,
    /// The provider's payment id a person recorded (`mark_paid`).
    pub payment_id: Option<String>,
    /// The state the request went to.
    pub to: RequestState,
}

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not be applied.
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value is not one the bridge writes.
    #[error(transparent)]
    State(#[from] UnknownState),
    /// A row of history was asked for requests the store does not hold (counted in one
    /// statement's rows).
    #[error("history rows for {asked} requests, but only {known} are stored")]
    HistoryWithoutRequest {
        /// Rows asked for.
        asked: usize,
        /// Rows written: the requests found.
        known: u64,
    },
    /// The URL names neither SQLite nor PostgreSQL.
    #[error(
        "database URL {0:?} is not supported: use sqlite://path/to/bridge.db or postgres://user@host/db"
    )]
    UnsupportedUrl(String),
}

/// Which database is behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file, one writer.
    Sqlite,
    /// A server shared by several bridge workers.
    Postgres,
}

/// The newest transaction the ingester has read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Its signature (base58).
    pub signature: String,
    /// Its slot.
    pub slot: i64,
}

/// One transaction of an address's history as read: where it is, and the requests of the served
/// pools it opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadTransaction {
    /// Its signature and slot: where the cursor moves once it is stored.
    pub cursor: Cursor,
    /// The requests it opened.
    pub requests: Vec<NewRequest>,
}

/// A request as first seen on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRequest {
    /// The ExchangeRequest account (base58).
    pub address: String,
    /// Its pool (base58).
    pub pool: String,
    /// Its id in the pool.
    pub request_id: i64,
    /// The requesting user (base58).
    pub user_key: String,
    /// Units escrowed.
    pub amount: i64,
    /// The rate snapshot.
    pub rate: i64,
    /// Funds owed, minor units.
    pub quoted: i64,
    /// ISO currency code.
    pub currency: String,
    /// On-chain unix seconds of the request.
    pub created_at: i64,
    /// The transaction it was found in; `None` when the reconcile pass found it.
    pub signature: Option<String>,
    /// The slot it was found at.
    pub slot: i64,
}

/// One state change of a request (a row of the audit trail).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The request's address.
    pub address: String,
    /// The state it left (`None`: it was just found).
    pub from: Option<RequestState>,
    /// The state it entered.
    pub to: RequestState,
    /// When (unix ms).
    pub at_ms: i64,
}

/// How long the requests `counted` stayed in each state they left, from `transitions` (each
/// request's in order, as [`Store::transitions`] returns them): every state left at least once,
/// in [`ALL_STATES`] order. Where a request's time between discovery and settlement goes
/// (`bridge_figures` prints it).
pub fn time_in_states(
    transitions: &[Transition],
    counted: impl Fn(&str) -> bool,
) -> Vec<TimeInState> {
    let mut times: Vec<TimeInState> = Vec::new();
    for pair in transitions.windows(2) {
        let (entered, left) = (&pair[0], &pair[1]);
        if entered.address != left.address || !counted(&left.address) {
            continue;
        }
        let Some(state) = left.from else { continue };
        let spent = left.at_ms.saturating_sub(entered.at_ms).max(0);
        match times.iter_mut().find(|time| time.state == state) {
            Some(time) => {
                time.visits += 1;
                time.total_ms = time.total_ms.saturating_add(spent);
                time.longest_ms = time.longest_ms.max(spent);
            }
            None => times.push(TimeInState {
                state,
                visits: 1,
                total_ms: spent,
                longest_ms: spent,
            }),
        }
    }
    times.sort_by_key(|time| ALL_STATES.iter().position(|s| *s == time.state));
    times
}

/// How long requests stayed in one state ([`time_in_states`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeInState {
    /// The state left.
    pub state: RequestState,
    /// How many times a request left it.
    pub visits: i64,
    /// The time spent in it over all those visits, milliseconds.
    pub total_ms: i64,
    /// The longest single visit, milliseconds.
    pub longest_ms: i64,
}

impl TimeInState {
    /// The mean visit, milliseconds.
    pub fn mean_ms(&self) -> i64 {
        self.total_ms / self.visits.max(1)
    }
}

/// A request row.
#[derive(Clone, Debug, FromRow)]
pub struct StoredRequest {
    /// The ExchangeRequest account (base58): the row's key.
    pub address: String,
    /// Its pool (base58).
    pub pool: String,
    /// Its id in the pool.
    pub request_id: i64,
    /// The requesting user (base58).
    pub user_key: String,
    /// Units escrowed.
    pub amount: i64,
    /// The rate snapshot.
    pub rate: i64,
    /// Funds owed per the event, minor units.
    pub quoted: i64,
    /// ISO currency code.
    pub currency: String,
    /// On-chain unix seconds of the request.
    pub created_at: i64,
    /// The transaction it was found in (`None`: the reconcile pass; column
    /// `discovered_in_signature` since migration 0007, whose rename stops an older ingester).
    #[sqlx(rename = "discovered_in_signature")]
    pub discovered_signature: Option<String>,
    /// The slot it was found at.
    pub discovered_slot: i64,
    /// When the bridge found it (unix ms).
    pub discovered_at_ms: i64,
    /// Its state name (see [`StoredRequest::state`]).
    #[sqlx(rename = "state")]
    pub state_name: String,
    /// The amount to pay, fixed when quoted.
    pub quote: Option<i64>,
    /// The provider's payment id.
    pub payment_id: Option<String>,
    /// How many times the provider may have been asked to pay it: each call, counted before it
    /// is made, and a lock found made for another database of this key (column `payout_calls`
    /// since migration 0007, whose rename stops workers of an older version).
    #[sqlx(rename = "payout_calls")]
    pub payout_attempts: i64,
    /// The signed settle transaction (base64).
    pub settle_tx: Option<String>,
    /// Its signature.
    pub settle_signature: Option<String>,
    /// The last block height its blockhash is valid for.
    pub settle_last_valid_height: Option<i64>,
    /// When it was settled (unix ms).
    pub settled_at_ms: Option<i64>,
    /// Why it needs a person.
    pub review_reason: Option<String>,
    /// The worker holding it.
    pub claimed_by: Option<String>,
    /// When it is next due (unix ms).
    pub next_attempt_ms: i64,
    /// When its settle transaction was last sent, or about to be (unix ms; stored with the
    /// transaction just before its first send, and by each resend before it is made).
    pub settle_sent_ms: Option<i64>,
    /// The idempotency key its payout is made and looked up under, fixed when it was discovered
    /// ([`crate::http_provider::idempotency_key`]); `None` in a row stored without one (before
    /// migration 0007, or by a bridge of that age still running), which was paid under the
    /// address-only key: read it through [`StoredRequest::payout_key`].
    #[sqlx(rename = "payout_key")]
    pub stored_payout_key: Option<String>,
}

impl StoredRequest {
    /// The idempotency key its payout is made and looked up under: the one stored with it, or
    /// for a row stored without one the address-only key it may have been paid under.
    pub fn payout_key(&self) -> String {
        self.stored_payout_key
            .clone()
            .unwrap_or_else(|| legacy_idempotency_key(&self.address))
    }

    /// The address-only key bridges before migration 0007 paid under, when its own key is
    /// another: a payment under it may be this request's (paid before the upgrade) or an earlier
    /// request's at the address, so it is asked after the row's own key finds nothing.
    pub fn legacy_payout_key(&self) -> Option<String> {
        let legacy = legacy_idempotency_key(&self.address);
        (self.payout_key() != legacy).then_some(legacy)
    }

    /// Every key a payment for it may have been made under, in the order they are asked: its own
    /// ([`Self::payout_key`]), then the address-only key ([`Self::legacy_payout_key`]).
    pub fn payout_keys(&self) -> impl Iterator<Item = String> {
        std::iter::once(self.payout_key()).chain(self.legacy_payout_key())
    }

    /// Its state.
    pub fn state(&self) -> Result<RequestState, UnknownState> {
        self.state_name.parse()
    }

    /// [`CLAIM_ORDER`] for rows already read: which of two is claimed first.
    fn claim_order(&self, other: &Self) -> std::cmp::Ordering {
        (self.discovered_at_ms, self.discovered_slot, &self.address).cmp(&(
            other.discovered_at_ms,
            other.discovered_slot,
            &other.address,
        ))
    }
}

/// One claim statement ([`Store::claim_held_as`]): `$1` the worker, `$2` its claim's expiry, `$3`
/// due by then, `$4` how many, `$5` an address left out, and for [`Holder::OwnOrExpired`] `$6`
/// now; `of_states` narrows the open states. PostgreSQL skips rows other workers are claiming
/// (`FOR UPDATE SKIP LOCKED`) and picks its index itself; SQLite is told which index to use
/// (`INDEXED BY`: without statistics its planner prefers `requests_by_state` and sorts every
/// due row, and it refuses the statement rather than run it without the index).
fn claim_sql(backend: Backend, of_states: &str, holder: Holder) -> String {
    let held = match holder {
        Holder::Free => "claimed_by IS NULL",
        Holder::OwnOrExpired => {
            "claimed_by IS NOT NULL AND (claimed_by = $1 OR claim_expires_ms < $6)"
        }
    };
    let (index, lock) = match (backend, holder) {
        (Backend::Postgres, _) => ("", "FOR UPDATE SKIP LOCKED"),
        (Backend::Sqlite, Holder::Free) => ("INDEXED BY requests_free_in_claim_order ", ""),
        (Backend::Sqlite, Holder::OwnOrExpired) => ("INDEXED BY requests_held_by_expiry ", ""),
    };
    format!(
        "UPDATE requests SET claimed_by = $1, claim_expires_ms = $2 WHERE address IN ( \
           SELECT address FROM requests {index}WHERE state IN {OPEN_STATES} {of_states}\
           AND {held} AND next_attempt_ms <= $3 AND address <> $5 \
           ORDER BY {CLAIM_ORDER} LIMIT $4 {lock}) \
         RETURNING {REQUEST_COLUMNS}"
    )
}

/// The condition narrowing a claim to `states` (`AND state IN (…) `, for [`claim_sql`]). The
/// states' names are the program's own constants, never input.
fn states_clause(states: &[RequestState]) -> String {
    let names: Vec<String> = states
        .iter()
        .map(|state| format!("'{}'", state.as_str()))
        .collect();
    format!("AND state IN ({}) ", names.join(", "))
}

/// Which open requests a claim takes ([`Store::claim_next`], [`Store::claim_due`]).
struct Wanted<'a> {
    /// Of these states only (`None`: any open state).
    states: Option<&'a [RequestState]>,
    /// Not this one (the lead of a batch).
    except: Option<&'a str>,
    /// Due by then (unix ms).
    due_by_ms: i64,
    /// At most this many.
    limit: usize,
}

/// Whose rows one claim statement takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// Rows no one holds.
    Free,
    /// Rows the claiming worker holds already, or whose claim has expired.
    OwnOrExpired,
}

/// What a transition writes besides the state (`None` leaves a column as it is).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The amount to pay.
    pub quote: Option<i64>,
    /// The provider's payment id.
    pub payment_id: Option<String>,
    /// The signed settle transaction (base64).
    pub settle_tx: Option<String>,
    /// Its signature.
    pub settle_signature: Option<String>,
    /// Its last valid block height.
    pub settle_last_valid_height: Option<i64>,
    /// When it is about to be sent.
    pub settle_sent_ms: Option<i64>,
    /// When it was settled.
    pub settled_at_ms: Option<i64>,
    /// Why it needs a person.
    pub review_reason: Option<String>,
    /// Count one more provider call.
    pub count_payout_attempt: bool,
}

/// The bridge's database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// When each worker's claims next look for held rows (at every claim unless paced:
    /// [`Store::with_held_looks_every`]).
    held_looks: Arc<HeldLooks>,
}

/// Milliseconds since the unix epoch.
pub fn now_ms() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let (backend, url, connections) = if let Some(path) = url.strip_prefix("sqlite://") {
            let separator = if path.contains('?') { '&' } else { '?' };
            (Backend::Sqlite, format!("{url}{separator}mode=rwc"), 1)
        } else if url.starts_with("sqlite:") {
            (Backend::Sqlite, url.to_owned(), 1)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned(), 8)
        } else {
            return Err(StoreError::UnsupportedUrl(crate::service::redact(url)));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        connection.execute("PRAGMA journal_mode = WAL").await?;
                        connection.execute("PRAGMA busy_timeout = 5000").await?;
                        connection.execute("PRAGMA synchronous = FULL").await?;
                    } else {
                        // Plan each statement for its values and the tables as they are now: a
                        // generic plan made while a new database's tables were small kept
                        // scanning them whole as they grew (20,000 requests ingested 8
                        // transactions at a time: 10.2 s and growing with the table, 6.2 s
                        // planned each time; docs/notes.md, 2026-12-07).
                        connection
                            .execute("SET plan_cache_mode = force_custom_plan")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            backend,
            held_looks: Arc::default(),
        })
    }

    /// This store with each worker's claims looking for held rows (its own, expired claims)
    /// only while such looks find some, and otherwise every `every_ms` ([`HeldLooks`]); opened,
    /// a store looks at every claim.
    pub fn with_held_looks_every(self, every_ms: i64) -> Self {
        Self {
            held_looks: Arc::new(HeldLooks::every(every_ms)),
            ..self
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The ingest cursor of the history of `address` (a pool's escrow; the column keeps its
    /// first name, `program`, from when the whole program's history was read).
    pub async fn cursor(&self, address: &str) -> Result<Option<Cursor>, StoreError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT signature, slot FROM ingest_cursor WHERE program = $1")
                .bind(address)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(signature, slot)| Cursor { signature, slot }))
    }

    /// The signatures of `address`'s history already read in `slot` (its cursor's slot): a pass
    /// lists that slot again but need not fetch these.
    pub async fn read_in_slot(
        &self,
        address: &str,
        slot: i64,
    ) -> Result<HashSet<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT signature FROM ingest_read_in_slot WHERE program = $1 AND slot = $2",
        )
        .bind(address)
        .bind(slot)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(signature,)| signature).collect())
    }

    /// Records what consecutive transactions of `address`'s history said (oldest first) and
    /// moves its cursor past the last, in one database transaction: a crash leaves all or none.
    /// The ones in the cursor's new slot are remembered as read there ([`Self::read_in_slot`]).
    /// Returns how many requests were new.
    pub async fn ingest(
        &self,
        address: &str,
        read: &[ReadTransaction],
        worker: &str,
    ) -> Result<usize, StoreError> {
        let Some(last) = read.last() else {
            return Ok(0);
        };
        debug_assert!(
            read.windows(2)
                .all(|w| w[0].cursor.slot <= w[1].cursor.slot),
            "the history is stored oldest first"
        );
        let mut transaction = self.pool.begin().await?;
        // The requests of all these transactions together: one statement for up to 100.
        let requests: Vec<&NewRequest> = read.iter().flat_map(|one| &one.requests).collect();
        let inserted = insert_requests(&mut transaction, &requests, worker).await?;
        for one in read {
            if one.cursor.slot == last.cursor.slot {
                sqlx::query(
                    "INSERT INTO ingest_read_in_slot (program, slot, signature) VALUES ($1, $2, $3) \
                     ON CONFLICT (program, signature) DO NOTHING",
                )
                .bind(address)
                .bind(one.cursor.slot)
                .bind(&one.cursor.signature)
                .execute(&mut *transaction)
                .await?;
            }
        }
        sqlx::query("DELETE FROM ingest_read_in_slot WHERE program = $1 AND slot < $2")
            .bind(address)
            .bind(last.cursor.slot)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO ingest_cursor (program, signature, slot) VALUES ($1, $2, $3) \
             ON CONFLICT (program) DO UPDATE SET signature = excluded.signature, slot = excluded.slot",
        )
        .bind(address)
        .bind(&last.cursor.signature)
        .bind(last.cursor.slot)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(inserted)
    }

    /// Those of `signatures` that are settle transactions stored here (a request's
    /// `settle_signature`): transactions this bridge built of settle instructions only (with
    /// their compute budget and the users' payout token accounts), so they open no request and
    /// the history need not fetch them. One statement for up to 100 signatures (an index reads
    /// each).
    pub async fn settle_signatures_among(
        &self,
        signatures: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let mut found = HashSet::new();
        for chunk in signatures.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT DISTINCT settle_signature FROM requests WHERE settle_signature IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query_as::<_, (String,)>(&sql);
            for signature in chunk {
                query = query.bind(*signature);
            }
            found.extend(
                query
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(|(signature,)| signature),
            );
        }
        Ok(found)
    }

    /// Records requests the scan of open requests found on chain; known ones are left alone,
    /// except a row the bridge is done with, which a request made later at its address replaces
    /// ([`earlier::make_way_for_later`]). Returns how many were new.
    pub async fn insert_found(
        &self,
        requests: &[NewRequest],
        worker: &str,
    ) -> Result<usize, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let requests: Vec<&NewRequest> = requests.iter().collect();
        let inserted = insert_requests(&mut transaction, &requests, worker).await?;
        transaction.commit().await?;
        Ok(inserted)
    }

    /// Takes or renews the lease `name` for `holder` until `ttl_ms` from now. False when another
    /// holder's lease is still running.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let result = sqlx::query(
            "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms \
             WHERE leases.holder = excluded.holder OR leases.expires_ms < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now.saturating_add(ttl_ms))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Gives up `holder`'s lease `name` (graceful shutdown), so another worker takes over now.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims the oldest due open request that is not held by a live claim of another worker,
    /// until `lease_ms` from now: one this worker held (a restart under the same name) or whose
    /// claim expired before a free one (when the worker looks for those: [`HeldLooks`]).
    /// PostgreSQL skips rows other workers are claiming (`FOR UPDATE SKIP LOCKED`); SQLite has
    /// one writer.
    pub async fn claim_next(
        &self,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Option<StoredRequest>, StoreError> {
        let wanted = Wanted {
            states: None,
            except: None,
            due_by_ms: now_ms(),
            limit: 1,
        };
        Ok(self.claim_rows(worker, lease_ms, &wanted).await?.pop())
    }

    /// Claims for `worker` what `wanted` asks: first the rows it holds itself or whose claims
    /// expired (when its [`HeldLooks`] say to look), then free ones, each in [`CLAIM_ORDER`];
    /// returned in that order ([`StoredRequest::claim_order`]).
    async fn claim_rows(
        &self,
        worker: &str,
        lease_ms: i64,
        wanted: &Wanted<'_>,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        let now = now_ms();
        let mut claimed = Vec::new();
        if self.held_looks.due(worker, now) {
            claimed = self
                .claim_held_as(worker, lease_ms, wanted, Holder::OwnOrExpired, wanted.limit)
                .await?;
            // A batch's look (some states, its lead left out) finding none says nothing of the
            // rest: only a look at every state pauses the next ones.
            if !claimed.is_empty() || wanted.states.is_none() {
                self.held_looks.looked(worker, !claimed.is_empty(), now);
            }
        }
        let left = wanted.limit.saturating_sub(claimed.len());
        if left > 0 {
            let free = self
                .claim_held_as(worker, lease_ms, wanted, Holder::Free, left)
                .await?;
            claimed.extend(free);
        }
        claimed.sort_by(StoredRequest::claim_order);
        Ok(claimed)
    }

    /// One statement of [`Self::claim_rows`]: up to `limit` rows of `wanted` held as `holder`
    /// says. Free rows are read from the index `requests_free_in_claim_order` (the open requests
    /// no one holds, in claim order, with their due times): from its start, passing over the
    /// rows not due yet within the index, and never sorting.
    async fn claim_held_as(
        &self,
        worker: &str,
        lease_ms: i64,
        wanted: &Wanted<'_>,
        holder: Holder,
        limit: usize,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let of_states = wanted.states.map(states_clause).unwrap_or_default();
        let sql = claim_sql(self.backend, &of_states, holder);
        let now = now_ms();
        let mut query = sqlx::query_as::<_, StoredRequest>(&sql)
            .bind(worker)
            .bind(now.saturating_add(lease_ms))
            .bind(wanted.due_by_ms)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            // No request's address is empty.
            .bind(wanted.except.unwrap_or(""));
        if holder == Holder::OwnOrExpired {
            query = query.bind(now);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// Lets go of `worker`'s claim on `address`.
    pub async fn release_claim(&self, address: &str, worker: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE requests SET claimed_by = NULL, claim_expires_ms = NULL \
             WHERE address = $1 AND claimed_by = $2",
        )
        .bind(address)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Moves `address` from `from` to `to` with `changes`, only if it is still in `from` and
    /// claimed by `worker` (its claim is renewed for `lease_ms`). False when it was not: another
    /// worker took it over, and this one must stop working on it.
    pub async fn transition(
        &self,
        address: &str,
        worker: &str,
        from: RequestState,
        to: RequestState,
        changes: Changes,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        self.transition_all(&[address.to_owned()], worker, from, to, changes, lease_ms)
            .await
    }

    /// Moves every one of `addresses` from `from` to `to` with the same `changes` (one settle
    /// transaction settling them all), in one database transaction: all of them, or none when
    /// any is no longer in `from` and claimed by `worker`, or named twice.
    pub async fn transition_all(
        &self,
        addresses: &[String],
        worker: &str,
        from: RequestState,
        to: RequestState,
        changes: Changes,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        debug_assert!(from.may_become(to), "{from} -> {to}");
        let now = now_ms();
        let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
        let distinct: HashSet<&str> = addresses.iter().copied().collect();
        if distinct.len() != addresses.len() {
            // One transaction settles a request once: a batch naming one twice is refused whole.
            return Ok(false);
        }
        let state_move = StateMove {
            worker,
            from,
            to,
            changes: &changes,
            now,
            lease_ms,
        };
        let mut transaction = self.pool.begin().await?;
        for chunk in addresses.chunks(ROWS_PER_STATEMENT) {
            if state_move.apply(&mut transaction, chunk).await?.len() != chunk.len() {
                transaction.rollback().await?;
                return Ok(false);
            }
        }
        record_transitions(&mut transaction, &addresses, Some(from), to, worker, now).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Moves each `(address, changes)` of `moves` from `from` to `to` with its own changes (a
    /// batch of quotes), in one database transaction, each on its own: one no longer in `from`
    /// and claimed by `worker` is left alone (false at its place), the others move; an
    /// address's second move in `moves` is not made (false). One commit for a batch instead of
    /// one a request, and one statement for the moves with the same changes (quotes of the
    /// same amount).
    pub async fn transition_each(
        &self,
        moves: &[(String, Changes)],
        worker: &str,
        from: RequestState,
        to: RequestState,
        lease_ms: i64,
    ) -> Result<Vec<bool>, StoreError> {
        debug_assert!(from.may_become(to), "{from} -> {to}");
        let now = now_ms();
        let mut alike: Vec<(&Changes, Vec<&str>)> = Vec::new();
        let mut named = HashSet::new();
        for (address, changes) in moves {
            if !named.insert(address.as_str()) {
                continue; // its first move is the one made
            }
            match alike.iter_mut().find(|(shared, _)| *shared == changes) {
                Some((_, addresses)) => addresses.push(address),
                None => alike.push((changes, vec![address])),
            }
        }
        let mut transaction = self.pool.begin().await?;
        let mut not_yet_counted = HashSet::new();
        for (changes, addresses) in &alike {
            let state_move = StateMove {
                worker,
                from,
                to,
                changes,
                now,
                lease_ms,
            };
            for chunk in addresses.chunks(ROWS_PER_STATEMENT) {
                not_yet_counted.extend(state_move.apply(&mut transaction, chunk).await?);
            }
        }
        // Each address that moved is true at its first place in `moves` only.
        let mut moved = Vec::with_capacity(moves.len());
        let mut moved_addresses = Vec::with_capacity(moves.len());
        for (address, _) in moves {
            let did = not_yet_counted.remove(address);
            if did {
                moved_addresses.push(address.as_str());
            }
            moved.push(did);
        }
        record_transitions(
            &mut transaction,
            &moved_addresses,
            Some(from),
            to,
            worker,
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(moved)
    }

    /// Claims for `worker` (until `lease_ms` from now) up to `limit` requests of `pool` in
    /// `state` other than `lead`, oldest first, to settle in one transaction with it. These rows
    /// wait only for companions, so their due time is not waited for; rows under another
    /// worker's live claim are skipped.
    pub async fn claim_companions(
        &self,
        worker: &str,
        lead: &str,
        pool: &str,
        state: RequestState,
        limit: usize,
        lease_ms: i64,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE requests SET claimed_by = $1, claim_expires_ms = $2 WHERE address IN ( \
               SELECT address FROM requests WHERE pool = $3 AND state = $4 AND address <> $5 \
               AND (claimed_by IS NULL OR claimed_by = $1 OR claim_expires_ms < $6) \
               ORDER BY {CLAIM_ORDER} LIMIT $7 {lock}) \
             RETURNING {REQUEST_COLUMNS}"
        );
        let now = now_ms();
        let mut claimed = sqlx::query_as::<_, StoredRequest>(&sql)
            .bind(worker)
            .bind(now.saturating_add(lease_ms))
            .bind(pool)
            .bind(state.as_str())
            .bind(lead)
            .bind(now)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        claimed.sort_by(StoredRequest::claim_order);
        Ok(claimed)
    }

    /// Claims for `worker` (until `lease_ms` from now) up to `limit` requests in one of `states`
    /// other than `lead` that are due within `due_within_ms`, oldest first ([`CLAIM_ORDER`]; its
    /// own and expired claims before free rows, when it looks for those: [`HeldLooks`]), to be
    /// read from the chain together with it (taking those due a little later keeps a batch
    /// together instead of splitting it by the milliseconds between its rows' due times). Rows under another worker's live claim are
    /// skipped. Returned oldest first.
    pub async fn claim_due(
        &self,
        worker: &str,
        lead: &str,
        states: &[RequestState],
        limit: usize,
        lease_ms: i64,
        due_within_ms: i64,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        if limit == 0 || states.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = Wanted {
            states: Some(states),
            except: Some(lead),
            due_by_ms: now_ms().saturating_add(due_within_ms.max(0)),
            limit,
        };
        self.claim_rows(worker, lease_ms, &wanted).await
    }

    /// Records as settled every request other than `lead` still `settle_sent` under
    /// `signature`: the transaction that settled `lead` settled them too (a transaction is
    /// atomic), whoever holds their claims. Returns when each was discovered (unix ms).
    pub async fn settle_companions(
        &self,
        signature: &str,
        lead: &str,
        worker: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let now = now_ms();
        let mut transaction = self.pool.begin().await?;
        let settled: Vec<(String, i64)> = sqlx::query_as(
            "UPDATE requests SET state = $1, settled_at_ms = $2, updated_at_ms = $2, \
               claimed_by = NULL, claim_expires_ms = NULL \
             WHERE settle_signature = $3 AND state = $4 AND address <> $5 \
             RETURNING address, discovered_at_ms",
        )
        .bind(RequestState::Settled.as_str())
        .bind(now)
        .bind(signature)
        .bind(RequestState::SettleSent.as_str())
        .bind(lead)
        .fetch_all(&mut *transaction)
        .await?;
        let addresses: Vec<&str> = settled
            .iter()
            .map(|(address, _)| address.as_str())
            .collect();
        record_transitions(
            &mut transaction,
            &addresses,
            Some(RequestState::SettleSent),
            RequestState::Settled,
            worker,
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(settled.into_iter().map(|(_, at)| at).collect())
    }

    /// Counts a provider attempt on `address` before the provider is called, and renews
    /// `worker`'s claim for `lease_ms`, only while it is still `payout_pending` and claimed by
    /// `worker`. A crash after the call then finds the attempt counted, and the next worker asks
    /// the provider what became of it before any second call. False when another worker took it.
    pub async fn start_payout_attempt(
        &self,
        address: &str,
        worker: &str,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let updated = sqlx::query(
            "UPDATE requests SET payout_calls = payout_calls + 1, updated_at_ms = $1, \
               claim_expires_ms = $2 \
             WHERE address = $3 AND state = $4 AND claimed_by = $5",
        )
        .bind(now)
        .bind(now.saturating_add(lease_ms))
        .bind(address)
        .bind(RequestState::PayoutPending.as_str())
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Takes the resend of the settle transaction `signature` at `now_ms`: true, and `now_ms`
    /// recorded as its last send in every request it settles still waiting for it, when its last
    /// send is unknown, at least `after_ms` old, or more than `after_ms` ahead (another machine's
    /// clock); false when it was sent within `after_ms`, by this worker or another. One statement,
    /// so two workers following one transaction never both resend it (while their clocks agree
    /// within `after_ms`; further apart, each reads the other's time as stale and resends).
    pub async fn take_resend(
        &self,
        signature: &str,
        now_ms: i64,
        after_ms: i64,
    ) -> Result<bool, StoreError> {
        let taken = sqlx::query(
            "UPDATE requests SET settle_sent_ms = $1 \
             WHERE settle_signature = $2 AND state = $3 AND (settle_sent_ms IS NULL \
               OR settle_sent_ms <= $4 OR settle_sent_ms > $5)",
        )
        .bind(now_ms)
        .bind(signature)
        .bind(RequestState::SettleSent.as_str())
        .bind(now_ms.saturating_sub(after_ms))
        .bind(now_ms.saturating_add(after_ms))
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() > 0)
    }

    /// Postpones `address` (claimed by `worker`) until `at_ms`, counting a provider attempt if
    /// `count_payout_attempt`, and releases the claim.
    pub async fn defer(
        &self,
        address: &str,
        worker: &str,
        at_ms: i64,
        count_payout_attempt: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE requests SET next_attempt_ms = $1, payout_calls = payout_calls + $2, \
               claimed_by = NULL, claim_expires_ms = NULL, updated_at_ms = $3 \
             WHERE address = $4 AND claimed_by = $5",
        )
        .bind(at_ms)
        .bind(i64::from(count_payout_attempt))
        .bind(now_ms())
        .bind(address)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Releases `worker`'s claims on each `(address, at_ms)` of `rows`, due again at its `at_ms`,
    /// in one database transaction (one commit for a batch instead of one a row: the lock
    /// batches' rows waiting for finality are looked at again and again until final). A row
    /// this worker no longer holds is left alone; a row named twice is due at its first time.
    pub async fn defer_all(&self, rows: &[(String, i64)], worker: &str) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        // Rows due at the same time (a lock batch's rows waiting for one finality) are one
        // statement.
        let mut by_due_time: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        let mut named = HashSet::new();
        for (address, at_ms) in rows {
            // A row named twice is due at its first time (its claim is released by the first).
            if named.insert(address.as_str()) {
                by_due_time.entry(*at_ms).or_default().push(address);
            }
        }
        let mut transaction = self.pool.begin().await?;
        for (at_ms, addresses) in &by_due_time {
            for chunk in addresses.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "UPDATE requests SET next_attempt_ms = $1, claimed_by = NULL, \
                       claim_expires_ms = NULL, updated_at_ms = $2 \
                     WHERE claimed_by = $3 AND address IN ({})",
                    placeholders(4, chunk.len())
                );
                let mut query = sqlx::query(&sql).bind(*at_ms).bind(now).bind(worker);
                for address in chunk {
                    query = query.bind(*address);
                }
                query.execute(&mut *transaction).await?;
            }
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The request at `address`.
    pub async fn request(&self, address: &str) -> Result<Option<StoredRequest>, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE address = $1");
        Ok(sqlx::query_as::<_, StoredRequest>(&sql)
            .bind(address)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// How many requests of `pool` this bridge is paying or has paid but not yet settled
    /// (`payout_pending`, `paid`, `settle_sent`): requests it must finish even after its key
    /// stops being the pool's settlement authority (the program lets the key that locked a
    /// request settle it).
    pub async fn payouts_under_way(&self, pool: &str) -> Result<i64, StoreError> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM requests WHERE pool = $1 \
             AND state IN ('payout_pending', 'paid', 'settle_sent')",
        )
        .bind(pool)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    /// Every request, oldest first.
    pub async fn requests(&self) -> Result<Vec<StoredRequest>, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests ORDER BY {CLAIM_ORDER}");
        Ok(sqlx::query_as::<_, StoredRequest>(&sql)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The rows a later request at their address replaced (`earlier_requests`, migration 0008):
    /// settled or withdrawn, as they were when replaced; by address, then when made.
    pub async fn earlier_requests(&self) -> Result<Vec<StoredRequest>, StoreError> {
        let sql =
            format!("SELECT {REQUEST_COLUMNS} FROM earlier_requests ORDER BY address, created_at");
        Ok(sqlx::query_as::<_, StoredRequest>(&sql)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The rows of requests made at `address` before the one its row stores (see
    /// [`Store::earlier_requests`]), earliest first.
    pub async fn earlier_requests_at(
        &self,
        address: &str,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM earlier_requests WHERE address = $1 ORDER BY created_at"
        );
        Ok(sqlx::query_as::<_, StoredRequest>(&sql)
            .bind(address)
            .fetch_all(&self.pool)
            .await?)
    }

    /// How many requests are in each state: every state, in [`ALL_STATES`] order (zero when none).
    pub async fn counts(&self) -> Result<Vec<(RequestState, i64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM requests GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let mut counts: Vec<_> = ALL_STATES.iter().map(|state| (*state, 0)).collect();
        for (name, count) in rows {
            let state: RequestState = name.parse()?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == state) {
                slot.1 = count;
            }
        }
        Ok(counts)
    }

    /// Every state change of every request, each request's in order (the audit trail;
    /// [`time_in_states`] sums it up). Reads it all: for benchmarks and tests, not the worker.
    pub async fn transitions(&self) -> Result<Vec<Transition>, StoreError> {
        let rows: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
            "SELECT address, from_state, to_state, at_ms FROM transitions ORDER BY address, seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(address, from, to, at_ms)| {
                Ok(Transition {
                    address,
                    from: from.map(|name| name.parse()).transpose()?,
                    to: to.parse()?,
                    at_ms,
                })
            })
            .collect()
    }

    /// Takes `address` out of manual review by a person's `action` (only while it is in manual
    /// review), recording who, why and where it went: the state change, its transition row and
    /// the review row in one database transaction. A request that had provider attempts keeps
    /// one, so the worker asks the provider before any new call. False when it was not in
    /// review, or stores another request than the one made at `created_at` (the person's).
    pub async fn apply_review(
        &self,
        address: &str,
        created_at: i64,
        action: &ReviewAction,
    ) -> Result<bool, StoreError> {
        let from = RequestState::ManualReview;
        debug_assert!(action.to.review_may_lead_to(), "review to {}", action.to);
        let now = now_ms();
        let mut transaction = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE requests SET state = $1, payment_id = COALESCE($2, payment_id), \
               payout_calls = CASE WHEN payout_calls > 0 THEN 1 ELSE 0 END, \
               next_attempt_ms = 0, claimed_by = NULL, claim_expires_ms = NULL, \
               updated_at_ms = $3 \
             WHERE address = $4 AND state = $5 AND created_at = $6",
        )
        .bind(action.to.as_str())
        .bind(action.payment_id.as_deref())
        .bind(now)
        .bind(address)
        .bind(from.as_str())
        .bind(created_at)
        .execute(&mut *transaction)
        .await?;
        if updated.rows_affected() != 1 {
            transaction.rollback().await?;
            return Ok(false);
        }
        let by = format!("review:{}", action.by);
        record_transitions(
            &mut transaction,
            &[address],
            Some(from),
            action.to,
            &by,
            now,
        )
        .await?;
        sqlx::query(
            "INSERT INTO review_actions \
               (address, seq, action, by_whom, reason, payment_id, to_state, at_ms) \
             SELECT $1, COUNT(*), $2, $3, $4, $5, $6, $7 FROM review_actions WHERE address = $1",
        )
        .bind(address)
        .bind(&action.action)
        .bind(&action.by)
        .bind(&action.reason)
        .bind(action.payment_id.as_deref())
        .bind(action.to.as_str())
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// The review actions taken on `address`, oldest first.
    pub async fn review_actions(&self, address: &str) -> Result<Vec<ReviewAction>, StoreError> {
        let rows: Vec<(String, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT action, by_whom, reason, payment_id, to_state FROM review_actions \
             WHERE address = $1 ORDER BY seq",
        )
        .bind(address)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(action, by, reason, payment_id, to)| {
                Ok(ReviewAction {
                    action,
                    by,
                    reason,
                    payment_id,
                    to: to.parse()?,
                })
            })
            .collect()
    }

    /// The payments people recorded with `review mark-paid`, as (address, payment id).
    pub async fn payments_recorded_by_hand(&self) -> Result<HashSet<(String, String)>, StoreError> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT address, payment_id FROM review_actions WHERE action = 'mark_paid'",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(address, payment_id)| payment_id.map(|id| (address, id)))
            .collect())
    }

    /// The state `address` was in when it went to manual review (where a retry resumes).
    pub async fn state_before_review(
        &self,
        address: &str,
    ) -> Result<Option<RequestState>, StoreError> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT from_state FROM transitions WHERE address = $1 AND to_state = $2              ORDER BY seq DESC LIMIT 1",
        )
        .bind(address)
        .bind(RequestState::ManualReview.as_str())
        .fetch_optional(&self.pool)
        .await?;
        match row.and_then(|(from,)| from) {
            Some(name) => Ok(Some(name.parse()?)),
            None => Ok(None),
        }
    }

    /// When the oldest request that is not final was discovered (unix ms), if any is open.
    pub async fn oldest_open_discovered_ms(&self) -> Result<Option<i64>, StoreError> {
        let sql =
            format!("SELECT MIN(discovered_at_ms) FROM requests WHERE state IN {OPEN_STATES}");
        let (oldest,): (Option<i64>,) = sqlx::query_as(&sql).fetch_one(&self.pool).await?;
        Ok(oldest)
    }

    /// The states `address` went through, in order (the audit trail).
    pub async fn history(&self, address: &str) -> Result<Vec<RequestState>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT to_state FROM transitions WHERE address = $1 ORDER BY seq")
                .bind(address)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|(name,)| Ok(name.parse()?)).collect()
    }
}

/// Inserts each of `requests` as discovered unless it is known, with a row of its history;
/// returns how many were new. One statement for up to [`ROWS_PER_STATEMENT`] requests (and one
/// for their history rows), not two a request. Of requests found at one address, only the latest
/// made is stored; one made later than a row the bridge is done with at its address takes the
/// address, the row kept in `earlier_requests` ([`earlier::make_way_for_later`]).
async fn insert_requests(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    requests: &[&NewRequest],
    worker: &str,
) -> Result<usize, StoreError> {
    let now = now_ms();
    let mut inserted = 0;
    let requests = earlier::latest_at_each_address(requests);
    for chunk in requests.chunks(ROWS_PER_STATEMENT) {
        let mut new = insert_discovered(transaction, chunk, now).await?;
        let taken: HashSet<&str> = new.iter().map(String::as_str).collect();
        let conflicted: Vec<&NewRequest> = chunk
            .iter()
            .copied()
            .filter(|request| !taken.contains(request.address.as_str()))
            .collect();
        let later = earlier::make_way_for_later(transaction, &conflicted, now).await?;
        if !later.is_empty() {
            new.extend(insert_discovered(transaction, &later, now).await?);
        }
        let addresses: Vec<&str> = new.iter().map(String::as_str).collect();
        record_transitions(
            transaction,
            &addresses,
            None,
            RequestState::Discovered,
            worker,
            now,
        )
        .await?;
        inserted += new.len();
    }
    Ok(inserted)
}

/// Inserts `requests` (at most [`ROWS_PER_STATEMENT`]) as discovered at `now` in one statement,
/// leaving any whose address has a row; returns the addresses inserted.
async fn insert_discovered(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    requests: &[&NewRequest],
    now: i64,
) -> Result<Vec<String>, StoreError> {
    /// The columns bound for each request.
    const COLUMNS: usize = 15;
    let sql = format!(
        "INSERT INTO requests (address, pool, request_id, user_key, amount, rate, quoted, \
           currency, created_at, discovered_in_signature, discovered_slot, discovered_at_ms, \
           state, updated_at_ms, payout_key) \
         VALUES {} ON CONFLICT (address) DO NOTHING RETURNING address",
        value_rows(1, requests.len(), COLUMNS)
    );
    let mut query = sqlx::query_as::<_, (String,)>(&sql);
    for request in requests {
        query = query
            .bind(&request.address)
            .bind(&request.pool)
            .bind(request.request_id)
            .bind(&request.user_key)
            .bind(request.amount)
            .bind(request.rate)
            .bind(request.quoted)
            .bind(&request.currency)
            .bind(request.created_at)
            .bind(&request.signature)
            .bind(request.slot)
            .bind(now)
            .bind(RequestState::Discovered.as_str())
            .bind(now)
            .bind(idempotency_key(&request.address, request.created_at));
    }
    let new: Vec<(String,)> = query.fetch_all(&mut **transaction).await?;
    Ok(new.into_iter().map(|(address,)| address).collect())
}

/// A move of requests between states inside a database transaction (`Store::transition_all`,
/// `Store::transition_each`), with the same changes for each.
struct StateMove<'a> {
    worker: &'a str,
    from: RequestState,
    to: RequestState,
    changes: &'a Changes,
    /// When they move (ms): their `updated_at_ms`, and the start of their renewed claims.
    now: i64,
    /// How long the worker's claims are renewed for.
    lease_ms: i64,
}

impl StateMove<'_> {
    /// Moves, with the changes, those of `addresses` (at most [`ROWS_PER_STATEMENT`]) still in
    /// `from` and claimed by the worker, in one statement; returns those that moved (each
    /// once). Their rows of history are the caller's to record ([`record_transitions`]).
    async fn apply(
        &self,
        transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
        addresses: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        debug_assert!(addresses.len() <= ROWS_PER_STATEMENT);
        let changes = self.changes;
        let sql = format!(
            "UPDATE requests SET state = $1, quote = COALESCE($2, quote), \
               payment_id = COALESCE($3, payment_id), settle_tx = COALESCE($4, settle_tx), \
               settle_signature = COALESCE($5, settle_signature), \
               settle_last_valid_height = COALESCE($6, settle_last_valid_height), \
               settled_at_ms = COALESCE($7, settled_at_ms), review_reason = COALESCE($8, review_reason), \
               payout_calls = payout_calls + $9, updated_at_ms = $10, claim_expires_ms = $11, \
               settle_sent_ms = COALESCE($12, settle_sent_ms) \
             WHERE state = $13 AND claimed_by = $14 AND address IN ({}) RETURNING address",
            placeholders(15, addresses.len())
        );
        let mut query = sqlx::query_as::<_, (String,)>(&sql)
            .bind(self.to.as_str())
            .bind(changes.quote)
            .bind(changes.payment_id.clone())
            .bind(changes.settle_tx.clone())
            .bind(changes.settle_signature.clone())
            .bind(changes.settle_last_valid_height)
            .bind(changes.settled_at_ms)
            .bind(changes.review_reason.clone())
            .bind(i64::from(changes.count_payout_attempt))
            .bind(self.now)
            .bind(self.now.saturating_add(self.lease_ms))
            .bind(changes.settle_sent_ms)
            .bind(self.from.as_str())
            .bind(self.worker);
        for address in addresses {
            query = query.bind(*address);
        }
        let moved = query.fetch_all(&mut **transaction).await?;
        Ok(moved.into_iter().map(|(address,)| address).collect())
    }
}

/// Appends a row of history for each of `addresses` (known requests, each once), which moved
/// from `from` to `to`: one statement for up to [`ROWS_PER_STATEMENT`] of them. Each row's
/// `seq` follows its request's earlier rows. An address the store does not hold is an error
/// (the caller's database transaction is then rolled back), never a move without history.
async fn record_transitions(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    addresses: &[&str],
    from: Option<RequestState>,
    to: RequestState,
    worker: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    for chunk in addresses.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO transitions (address, seq, from_state, to_state, worker, at_ms) \
             SELECT v.column1, (SELECT COUNT(*) FROM transitions t WHERE t.address = v.column1), \
               $1, $2, $3, $4 \
             FROM (VALUES {}) AS v \
             WHERE EXISTS (SELECT 1 FROM requests r WHERE r.address = v.column1)",
            value_rows(5, chunk.len(), 1)
        );
        let mut query = sqlx::query(&sql)
            .bind(from.map(RequestState::as_str))
            .bind(to.as_str())
            .bind(worker)
            .bind(at_ms);
        for address in chunk {
            query = query.bind(*address);
        }
        let known = query.execute(&mut **transaction).await?.rows_affected();
        if known != chunk.len() as u64 {
            return Err(StoreError::HistoryWithoutRequest {
                asked: chunk.len(),
                known,
            });
        }
    }
    Ok(())
}

/// `count` numbered placeholders from `$first` on, comma-separated (`$3, $4, $5`): the same
/// in both databases' SQL through the Any driver.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|number| format!("${number}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `rows` parenthesised rows of `columns` numbered placeholders each, from `$first` on, for a
/// `VALUES` list: `value_rows(5, 2, 1)` is `($5), ($6)`.
fn value_rows(first: usize, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(first + row * columns, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::postgres::TestPostgres;

    /// The narrowings of the open states a worker claims with: none, and each batch's.
    fn narrowings() -> Vec<String> {
        use RequestState::*;
        let batches: [&[RequestState]; 3] =
            [&[Discovered, Quoted], &[PayoutPending], &[SettleSent]];
        std::iter::once(String::new())
            .chain(batches.into_iter().map(states_clause))
            .collect()
    }

    /// Each claim, on SQLite, reads its index: the free rows' `requests_free_in_claim_order` in
    /// its order (no sort of the due rows, the cost that grew with every request waiting), the
    /// held rows' `requests_held_by_expiry`. `INDEXED BY` makes SQLite refuse a statement the
    /// index cannot serve, so this also proves each claim's conditions imply its index's.
    #[tokio::test]
    async fn each_claim_reads_its_index_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bridge.db").display());
        let store = Store::open(&url).await.unwrap();
        for of_states in narrowings() {
            for (holder, index) in [
                (Holder::Free, "requests_free_in_claim_order"),
                (Holder::OwnOrExpired, "requests_held_by_expiry"),
            ] {
                let sql = format!(
                    "EXPLAIN QUERY PLAN {}",
                    claim_sql(Backend::Sqlite, &of_states, holder)
                );
                let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql)
                    .bind("w1")
                    .bind(1_i64)
                    .bind(0_i64)
                    .bind(1_i64)
                    .bind("");
                if holder == Holder::OwnOrExpired {
                    query = query.bind(0_i64);
                }
                let plan: Vec<String> = query
                    .fetch_all(&store.pool)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|row| row.3)
                    .collect();
                assert!(
                    plan.iter().any(|step| step.contains(index)),
                    "{of_states}: {plan:?}"
                );
                if holder == Holder::Free {
                    assert!(
                        !plan.iter().any(|step| step.contains("ORDER BY")),
                        "{of_states}: {plan:?}"
                    );
                }
            }
        }
        store.close().await;
    }

    /// A free claim on PostgreSQL: with scans that ignore the index's order made prohibitive,
    /// the plan is a scan of `requests_free_in_claim_order` and sorts nothing (a partial index
    /// whose condition the claim did not imply would leave only those).
    #[tokio::test(flavor = "multi_thread")]
    async fn a_free_claim_reads_its_index_in_order_on_postgres() {
        let server = TestPostgres::start().expect("a PostgreSQL server");
        let database = server.database().await.unwrap();
        let store = Store::open(&database.url).await.unwrap();
        for of_states in narrowings() {
            let mut transaction = store.pool.begin().await.unwrap();
            for setting in ["enable_seqscan", "enable_bitmapscan", "enable_sort"] {
                sqlx::query(&format!("SET LOCAL {setting} = off"))
                    .execute(&mut *transaction)
                    .await
                    .unwrap();
            }
            let sql = format!(
                "EXPLAIN {}",
                claim_sql(Backend::Postgres, &of_states, Holder::Free)
            );
            let plan: Vec<String> = sqlx::query_as::<_, (String,)>(&sql)
                .bind("w1")
                .bind(1_i64)
                .bind(0_i64)
                .bind(1_i64)
                .bind("")
                .fetch_all(&mut *transaction)
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.0)
                .collect();
            assert!(
                plan.iter()
                    .any(|step| step.contains("requests_free_in_claim_order")),
                "{of_states}: {plan:#?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("Sort")),
                "{of_states}: {plan:#?}"
            );
            transaction.rollback().await.unwrap();
        }
        store.close().await;
    }
}
