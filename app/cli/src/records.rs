//! Bulk inputs and outputs: credential rows (CSV or JSON), revocation lists, the operator's user
//! list (CSV) and the proofs file written for users and the crank. Every file is read and checked
//! whole before anything is sent; a bad row is named by file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use allot::ListProof;
use allot::constants::INDICATOR_COUNT;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result, bail, ensure};
use csv::StringRecord;
use serde::{Deserialize, Serialize};

use crate::pool_file::parse_key;

/// One credential to issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRow {
    /// The user's wallet.
    pub user: Pubkey,
    /// Indicator values, slot 0 first (missing slots are 0).
    pub indicators: [u64; INDICATOR_COUNT],
    /// The verification report's reference.
    pub evidence: String,
}

/// A credential row as written in JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialJson {
    user: String,
    indicators: Vec<u64>,
    evidence: String,
}

/// A credential row as written in CSV (`indicators` as `a;b;c;d`).
#[derive(Deserialize)]
struct CredentialCsv {
    user: String,
    indicators: String,
    evidence: String,
}

/// Indicator values into the fixed slots, refusing too many.
pub fn indicator_slots(values: &[u64]) -> Result<[u64; INDICATOR_COUNT]> {
    ensure!(!values.is_empty(), "no indicator values given");
    ensure!(
        values.len() <= INDICATOR_COUNT,
        "{} indicator values given; a credential holds {INDICATOR_COUNT}",
        values.len()
    );
    let mut slots = [0; INDICATOR_COUNT];
    slots[..values.len()].copy_from_slice(values);
    Ok(slots)
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn read_text(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Reads credential rows from a CSV (`user,indicators,evidence`) or JSON file.
pub fn read_credentials(path: &Path) -> Result<Vec<CredentialRow>> {
    let text = read_text(path, "credentials file")?;
    let rows = if is_json(path) {
        let rows: Vec<CredentialJson> = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a JSON array of {{user, indicators, evidence}}",
                path.display()
            )
        })?;
        rows.into_iter()
            .enumerate()
            .map(|(i, row)| {
                credential_row(&row.user, &row.indicators, row.evidence)
                    .with_context(|| format!("{} entry {}", path.display(), i + 1))
            })
            .collect::<Result<Vec<_>>>()?
    } else {
        let (headers, records) = csv_records(path, &text)?;
        let mut rows = Vec::new();
        for (line, record) in records {
            let row: CredentialCsv = record.deserialize(Some(&headers)).with_context(|| {
                format!(
                    "{} line {line}: expected columns user,indicators,evidence",
                    path.display()
                )
            })?;
            let values = row
                .indicators
                .split(';')
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .with_context(|| format!("indicator {v:?} is not a whole number"))
                })
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("{} line {line}", path.display()))?;
            rows.push(
                credential_row(&row.user, &values, row.evidence)
                    .with_context(|| format!("{} line {line}", path.display()))?,
            );
        }
        rows
    };
    ensure!(!rows.is_empty(), "{} holds no credentials", path.display());
    refuse_duplicates(rows.iter().map(|r| &r.user), path)?;
    Ok(rows)
}

/// The header row and every record of the CSV `text` (fields trimmed, rows of any width), each
/// with the line it starts on as an editor shows it: counted from the record's byte offset, so
/// blank lines and line breaks inside quoted fields are counted (the CSV reader's own line count
/// skips the latter). A record that cannot be read is an error naming its line.
fn csv_records(path: &Path, text: &str) -> Result<(StringRecord, Vec<(u64, StringRecord)>)> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .with_context(|| format!("{} has no header row", path.display()))?
        .clone();
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| {
            let line = error.position().map_or(0, |at| line_at(text, at.byte()));
            anyhow::anyhow!("{} line {line}: {error}", path.display())
        })?;
        let line = record.position().map_or(0, |at| line_at(text, at.byte()));
        records.push((line, record));
    }
    Ok((headers, records))
}

/// The line (from 1) where the record read from byte `offset` of `text` starts: the reader's
/// offset is where it began reading, before the blank lines it skipped.
fn line_at(text: &str, offset: u64) -> u64 {
    let bytes = text.as_bytes();
    let mut end = usize::try_from(offset).map_or(bytes.len(), |o| o.min(bytes.len()));
    while end < bytes.len() && matches!(bytes[end], b'\n' | b'\r') {
        end += 1;
    }
    let breaks = bytes[..end].iter().filter(|b| **b == b'\n').count();
    u64::try_from(breaks).map_or(u64::MAX, |b| b.saturating_add(1))
}

fn credential_row(user: &str, values: &[u64], evidence: String) -> Result<CredentialRow> {
    ensure!(!evidence.trim().is_empty(), "evidence is empty");
    Ok(CredentialRow {
        user: parse_key(user)?,
        indicators: indicator_slots(values)?,
        evidence,
    })
}

fn refuse_duplicates<'a>(users: impl Iterator<Item = &'a Pubkey>, path: &Path) -> Result<()> {
    let mut seen = BTreeSet::new();
    for user in users {
        if !seen.insert(user) {
            bail!("{}: user {user} appears more than once", path.display());
        }
    }
    Ok(())
}

/// Reads user keys from a CSV with a `user` column, or a JSON array of keys.
pub fn read_users(path: &Path) -> Result<Vec<Pubkey>> {
    let text = read_text(path, "user file")?;
    let users = if is_json(path) {
        let keys: Vec<String> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON array of keys", path.display()))?;
        keys.iter()
            .enumerate()
            .map(|(i, k)| {
                parse_key(k).with_context(|| format!("{} entry {}", path.display(), i + 1))
            })
            .collect::<Result<Vec<_>>>()?
    } else {
        let (headers, records) = csv_records(path, &text)?;
        let column = headers
            .iter()
            .position(|h| h == "user")
            .with_context(|| format!("{} has no `user` column", path.display()))?;
        let mut users = Vec::new();
        for (line, record) in records {
            let key = record.get(column).unwrap_or_default();
            users.push(parse_key(key).with_context(|| format!("{} line {line}", path.display()))?);
        }
        users
    };
    ensure!(!users.is_empty(), "{} holds no users", path.display());
    refuse_duplicates(users.iter(), path)?;
    Ok(users)
}

/// One row of the operator's user list.
#[derive(Deserialize)]
struct ListCsv {
    user: String,
    value: String,
}

/// Reads the operator's user list, a CSV `user,value`.
pub fn read_user_list(path: &Path) -> Result<Vec<(Pubkey, u64)>> {
    let text = read_text(path, "user list")?;
    let (headers, records) = csv_records(path, &text)?;
    let mut entries = Vec::new();
    for (line, record) in records {
        let row: ListCsv = record.deserialize(Some(&headers)).with_context(|| {
            format!(
                "{} line {line}: expected columns user,value",
                path.display()
            )
        })?;
        let user =
            parse_key(&row.user).with_context(|| format!("{} line {line}", path.display()))?;
        let value = row.value.parse::<u64>().with_context(|| {
            format!(
                "{} line {line}: value {:?} is not a whole number",
                path.display(),
                row.value
            )
        })?;
        entries.push((user, value));
    }
    ensure!(!entries.is_empty(), "{} holds no users", path.display());
    refuse_duplicates(entries.iter().map(|(u, _)| u), path)?;
    Ok(entries)
}

/// The proofs file: what a user (or the crank) presents to allocate by user list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofsFile {
    /// The pool the list belongs to.
    pub pool: String,
    /// The list's period.
    pub period: u64,
    /// The published root, hex.
    pub root: String,
    /// Per user (base58): the leaf value and the proof (hex nodes).
    pub proofs: BTreeMap<String, ProofEntry>,
}

/// One user's entry in the proofs file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofEntry {
    /// The user's indicator value in the list.
    pub value: u64,
    /// Sibling hashes from leaf to root, hex.
    pub proof: Vec<String>,
}

impl ProofsFile {
    /// Reads a proofs file and checks that it belongs to `pool`.
    pub fn read(path: &Path, pool: &Pubkey) -> Result<Self> {
        let text = read_text(path, "proofs file")?;
        let file: ProofsFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a proofs file", path.display()))?;
        ensure!(
            file.pool == pool.to_string(),
            "{} is the proofs file of pool {}, not {pool}",
            path.display(),
            file.pool
        );
        Ok(file)
    }

    /// The proof of `user`, if the list has it.
    pub fn proof_of(&self, user: &Pubkey) -> Result<Option<ListProof>> {
        let Some(entry) = self.proofs.get(&user.to_string()) else {
            return Ok(None);
        };
        let proof = entry
            .proof
            .iter()
            .map(|node| {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(node, &mut bytes).with_context(|| {
                    format!("proof node {node:?} of {user} is not 32 bytes of hex")
                })?;
                Ok(bytes)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(ListProof {
            value: entry.value,
            proof,
        }))
    }

    /// Every user in the file.
    pub fn users(&self) -> Result<Vec<Pubkey>> {
        self.proofs.keys().map(|k| parse_key(k)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn credential_csv_and_json_read_the_same_rows() {
        let user = Pubkey::new_unique();
        let (_d, csv_path) = write(
            "c.csv",
            &format!("user,indicators,evidence\n{user},5000;3,report-1\n"),
        );
        let (_e, json_path) = write(
            "c.json",
            &format!(r#"[{{"user":"{user}","indicators":[5000,3],"evidence":"report-1"}}]"#),
        );
        let expected = vec![CredentialRow {
            user,
            indicators: [5000, 3, 0, 0],
            evidence: "report-1".into(),
        }];
        assert_eq!(read_credentials(&csv_path).unwrap(), expected);
        assert_eq!(read_credentials(&json_path).unwrap(), expected);
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let user = Pubkey::new_unique();
        let (_d, path) = write(
            "c.csv",
            &format!("user,indicators,evidence\n{user},1,a\nnot-a-key,1,b\n"),
        );
        let message = format!("{:#}", read_credentials(&path).unwrap_err());
        assert!(
            message.contains("line 3") && message.contains("not-a-key"),
            "{message}"
        );

        let (_d, path) = write(
            "c.csv",
            &format!("user,indicators,evidence\n{user},1;x,a\n"),
        );
        let message = format!("{:#}", read_credentials(&path).unwrap_err());
        assert!(
            message.contains("line 2") && message.contains("\"x\""),
            "{message}"
        );

        let (_d, path) = write(
            "c.csv",
            &format!("user,indicators,evidence\n{user},1,a\n{user},2,b\n"),
        );
        let message = format!("{:#}", read_credentials(&path).unwrap_err());
        assert!(message.contains("more than once"), "{message}");

        // Blank lines and a quoted field over two lines still leave the right line named.
        let (_d, path) = write(
            "c.csv",
            &format!(
                "user,indicators,evidence\n\n{user},1,\"report\nspanning two lines\"\n\nnot-a-key,1,b\n"
            ),
        );
        let message = format!("{:#}", read_credentials(&path).unwrap_err());
        assert!(
            message.contains("line 6") && message.contains("not-a-key"),
            "{message}"
        );
        let (_d, path) = write("u.csv", "user\n\n\nnot-a-key\n");
        let message = format!("{:#}", read_users(&path).unwrap_err());
        assert!(
            message.contains("line 4") && message.contains("not-a-key"),
            "{message}"
        );
        let (_d, path) = write("l.csv", &format!("user,value\n\n{user},5\n\n{user}2,x\n"));
        let message = format!("{:#}", read_user_list(&path).unwrap_err());
        assert!(message.contains("line 5"), "{message}");

        let (_d, path) = write("l.csv", &format!("user,value\n{user},-4\n"));
        let message = format!("{:#}", read_user_list(&path).unwrap_err());
        assert!(
            message.contains("line 2") && message.contains("-4"),
            "{message}"
        );
    }
}
