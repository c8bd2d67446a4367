//! Importing events from JSONL (the JSON form v1, one event a line, as `onair events --format jsonl`
//! writes it). Idempotent: an event already stored (same platform and source id, or the same OnAir id)
//! is recognised and skipped, so importing a file twice adds nothing. A bad line is reported with its
//! number and skipped; the other lines are still imported.

use onair_core::Event;
use onair_store::{StoreError, Writer};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// A line that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub error: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Events newly stored.
    pub added: u64,
    /// Events that were already stored.
    pub duplicates: u64,
    /// Events the store refused (each was logged).
    pub refused: u64,
    /// Lines that are not events.
    pub bad_lines: Vec<BadLine>,
}

/// What stops an import altogether.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input could not be read.
    #[error("could not read the import file: {0}")]
    Read(#[from] std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads JSONL from `input` and appends every event through `writer`; returns once all are committed.
/// The counts come from the writer's status, so `writer` should not be shared with other producers
/// during the import.
pub async fn import_jsonl(
    writer: &Writer,
    input: impl AsyncBufRead + Unpin,
) -> Result<ImportReport, ImportError> {
    let before = writer.status().borrow().clone();
    let mut report = ImportReport::default();
    let mut lines = input.lines();
    let mut number = 0;
    while let Some(line) = lines.next_line().await? {
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        match Event::from_json(&line) {
            Ok(mut event) => {
                // The target store assigns its own offsets.
                event.offset = None;
                writer.append_detached(event).await?;
            }
            Err(e) => report.bad_lines.push(BadLine {
                line: number,
                error: e.to_string(),
            }),
        }
    }
    writer.flush().await?;
    let after = writer.status().borrow().clone();
    report.added = after.committed - before.committed;
    report.duplicates = after.duplicates - before.duplicates;
    report.refused = after.rejected - before.rejected;
    Ok(report)
}
