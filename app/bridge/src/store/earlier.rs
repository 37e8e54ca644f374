//! A later request at the address of a row the bridge is done with. Ids are the clients' choice,
//! so once a request is final and closed on chain its address can hold another request; rows are
//! keyed by address. A settled or withdrawn row whose address a request made later is found at
//! moves to `earlier_requests` (migration 0008), as it was, and the later request takes the
//! address: it is then paid and settled like any other, under its own payout key. A row still
//! open, or in manual review, keeps its address: the worker sends it to review
//! (`worker::mismatch`), and once a person closes it (`review close`) the next reconcile pass
//! finds the later request.

use std::collections::BTreeMap;

use super::{NewRequest, REQUEST_COLUMNS, StoreError, placeholders};

/// The states a row gives its address up from: nothing more is owed or done for it.
const DONE_STATES: &str = "('settled', 'withdrawn')";

/// Of `conflicted` (found requests whose address already has a row), the latest made at each
/// address whose row the bridge is done with and was made earlier: that row is moved to
/// `earlier_requests`, and the request returned, to be inserted in its place in the same
/// database transaction. One statement reads the rows done with among them; only the rows moved
/// cost more (a reconcile pass finds every open request again, and those keep their rows).
pub(super) async fn make_way_for_later<'a>(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    conflicted: &[&'a NewRequest],
    now_ms: i64,
) -> Result<Vec<&'a NewRequest>, StoreError> {
    if conflicted.is_empty() {
        return Ok(Vec::new());
    }
    // The latest request found at each address (a history page may hold two).
    let mut latest: BTreeMap<&str, &NewRequest> = BTreeMap::new();
    for request in conflicted {
        latest
            .entry(request.address.as_str())
            .and_modify(|known| {
                if request.created_at > known.created_at {
                    *known = request;
                }
            })
            .or_insert(request);
    }
    let sql = format!(
        "SELECT address, created_at FROM requests WHERE state IN {DONE_STATES} AND address IN ({})",
        placeholders(1, latest.len())
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
    for address in latest.keys() {
        query = query.bind(*address);
    }
    let done: Vec<(String, i64)> = query.fetch_all(&mut **transaction).await?;
    let mut later = Vec::new();
    for (address, created_at) in done {
        let Some(request) = latest.get(address.as_str()).copied() else {
            continue;
        };
        // The same request found again (or an earlier one, read late) leaves the row alone.
        if request.created_at <= created_at {
            continue;
        }
        move_to_earlier(transaction, &address, request.created_at, now_ms).await?;
        tracing::info!(
            %address,
            earlier_made_at = created_at,
            later_made_at = request.created_at,
            "a later request took the address of a request the bridge is done with; its row is kept in earlier_requests"
        );
        later.push(request);
    }
    Ok(later)
}

/// Moves the row at `address` (done with, made before `later_created_at`) to `earlier_requests`.
async fn move_to_earlier(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    address: &str,
    later_created_at: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let done_before = |first: usize| {
        format!(
            "address = ${first} AND state IN {DONE_STATES} AND created_at < ${}",
            first + 1
        )
    };
    sqlx::query(&format!(
        "INSERT INTO earlier_requests ({REQUEST_COLUMNS}, updated_at_ms, replaced_at_ms, \
           replaced_by_created_at) \
         SELECT {REQUEST_COLUMNS}, updated_at_ms, $1, $2 FROM requests WHERE {}",
        done_before(3)
    ))
    .bind(now_ms)
    .bind(later_created_at)
    .bind(address)
    .bind(later_created_at)
    .execute(&mut **transaction)
    .await?;
    sqlx::query(&format!("DELETE FROM requests WHERE {}", done_before(1)))
        .bind(address)
        .bind(later_created_at)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}
