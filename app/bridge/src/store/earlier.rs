//! A later request at the address of a row the bridge is done with. Ids are the clients' choice,
//! so once a request is final and closed on chain its address can hold another request; rows are
//! keyed by address. A settled or withdrawn row whose address a request made later is found at
//! moves to `earlier_requests` (migration 0008), as it was, and the later request takes the
//! address: it is then paid and settled like any other, under its own payout key. A row still
//! open, or in manual review, keeps its address: the worker ends it as withdrawn when it paid and
//! settled nothing (`worker/replaced.rs`) and sends any other to review, where a person closes it
//! (`review close`); once it has ended, the next scan of open requests finds the later request.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use super::{NewRequest, REQUEST_COLUMNS, StoreError, placeholders};

/// The states a row gives its address up from: nothing more is owed or done for it.
const DONE_STATES: &str = "('settled', 'withdrawn')";

/// `requests` with one request an address: the latest made (an earlier one found beside it was
/// closed, since a later one took its address), where the first found at the address was (the
/// history's order).
pub(super) fn latest_at_each_address<'a>(requests: &[&'a NewRequest]) -> Vec<&'a NewRequest> {
    let mut kept: Vec<&NewRequest> = Vec::with_capacity(requests.len());
    let mut at: HashMap<&str, usize> = HashMap::with_capacity(requests.len());
    for request in requests {
        match at.get(request.address.as_str()) {
            Some(&index) if request.created_at > kept[index].created_at => kept[index] = request,
            Some(_) => {}
            None => {
                at.insert(request.address.as_str(), kept.len());
                kept.push(request);
            }
        }
    }
    kept
}

/// A row the bridge is done with, as far as a later request needs it.
#[derive(sqlx::FromRow)]
struct DoneRow {
    address: String,
    created_at: i64,
    user_key: String,
    amount: i64,
    quoted: i64,
}

/// Of `conflicted` (found requests, one an address, whose address already has a row), those made
/// later than the row the bridge is done with at their address: that row is moved to
/// `earlier_requests`, and the request returned, to be inserted in its place in the same
/// database transaction. One statement reads the rows done with among them; only the rows moved
/// cost more (a scan of open requests finds every open request again, and those keep their
/// rows).
pub(super) async fn make_way_for_later<'a>(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    conflicted: &[&'a NewRequest],
    now_ms: i64,
) -> Result<Vec<&'a NewRequest>, StoreError> {
    if conflicted.is_empty() {
        return Ok(Vec::new());
    }
    let found: HashMap<&str, &NewRequest> = conflicted
        .iter()
        .map(|request| (request.address.as_str(), *request))
        .collect();
    let sql = format!(
        "SELECT address, created_at, user_key, amount, quoted FROM requests \
         WHERE state IN {DONE_STATES} AND address IN ({})",
        placeholders(1, conflicted.len())
    );
    let mut query = sqlx::query_as::<_, DoneRow>(&sql);
    for request in conflicted {
        query = query.bind(&request.address);
    }
    let done: Vec<DoneRow> = query.fetch_all(&mut **transaction).await?;
    let mut later = Vec::new();
    for row in done {
        let Some(request) = found.get(row.address.as_str()).copied() else {
            continue;
        };
        if request.created_at < row.created_at {
            continue; // an earlier request, read late
        }
        if request.created_at == row.created_at {
            // The same request found again; or another made in the same second at the address,
            // which shares its payout key and the program's instance check: not served.
            if (request.user_key.as_str(), request.amount, request.quoted)
                != (row.user_key.as_str(), row.amount, row.quoted)
                && first_warning(&row.address, row.created_at)
            {
                tracing::warn!(
                    address = %row.address,
                    made_at = row.created_at,
                    "a request made in the same second as the one this row stored, at its address, differs from it: the bridge cannot tell the two apart and does not serve it (its user can cancel it after its cancel time)"
                );
            }
            continue;
        }
        if move_to_earlier(transaction, &row.address, request.created_at, now_ms).await? {
            tracing::info!(
                address = %row.address,
                earlier_made_at = row.created_at,
                later_made_at = request.created_at,
                "a later request took the address of a request the bridge is done with; its row is kept in earlier_requests"
            );
            later.push(request);
        }
    }
    Ok(later)
}

/// Whether this process has not yet warned of the request made at `made_at` at `address` (the
/// scan of open requests finds it again every few seconds until its user cancels it).
fn first_warning(address: &str, made_at: i64) -> bool {
    static WARNED: OnceLock<Mutex<HashSet<(String, i64)>>> = OnceLock::new();
    WARNED
        .get_or_init(Mutex::default)
        .lock()
        .map_or(true, |mut warned| {
            warned.insert((address.to_owned(), made_at))
        })
}

/// Moves the row at `address` (done with, made before `later_created_at`) to `earlier_requests`;
/// whether it moved.
async fn move_to_earlier(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    address: &str,
    later_created_at: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done_before = |first: usize| {
        format!(
            "address = ${first} AND state IN {DONE_STATES} AND created_at < ${}",
            first + 1
        )
    };
    let copied = sqlx::query(&format!(
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
    .await?
    .rows_affected();
    if copied == 0 {
        return Ok(false);
    }
    sqlx::query(&format!("DELETE FROM requests WHERE {}", done_before(1)))
        .bind(address)
        .bind(later_created_at)
        .execute(&mut **transaction)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(address: &str, created_at: i64) -> NewRequest {
        NewRequest {
            address: address.into(),
            pool: "Pool".into(),
            request_id: 1,
            user_key: "User".into(),
            amount: 1,
            rate: 1,
            quoted: 1,
            currency: "USD".into(),
            created_at,
            signature: None,
            slot: created_at,
        }
    }

    /// The history delivers requests oldest first: of those at one address the latest made is
    /// kept, where the first at the address was; other addresses keep their order.
    #[test]
    fn the_latest_request_at_each_address_is_kept_in_the_history_order() {
        let read = [
            found("A", 10),
            found("B", 11),
            found("A", 12),
            found("C", 13),
            found("A", 9),
        ];
        let read: Vec<&NewRequest> = read.iter().collect();
        let kept: Vec<(&str, i64)> = latest_at_each_address(&read)
            .iter()
            .map(|r| (r.address.as_str(), r.created_at))
            .collect();
        assert_eq!(kept, [("A", 12), ("B", 11), ("C", 13)]);
    }

    #[test]
    fn a_request_made_in_the_same_second_is_warned_of_once() {
        assert!(first_warning("W", 5));
        assert!(!first_warning("W", 5));
        assert!(first_warning("W", 6));
    }
}
