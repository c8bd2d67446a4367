//! Importing events from JSONL (the JSON form v1, one event a line, as `onair events --format jsonl`
//! writes it). Idempotent: an event already stored (same platform and source id, or the same OnAir id)
//! is recognised and skipped, so importing a file twice adds nothing. A bad line (not UTF-8, or not an
//! event) is reported with its number and skipped; the other lines are still imported.

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
    let mut input = input;
    let mut buffer = Vec::new();
    let mut number = 0;
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer).await? == 0 {
            break;
        }
        number += 1;
        // A line ends with `\n` or `\r\n`; one that is not text is a bad line, not the end of the import.
        let bytes = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let line = match std::str::from_utf8(bytes) {
            Ok(line) => line,
            Err(e) => {
                report.bad_lines.push(BadLine {
                    line: number,
                    error: format!("not UTF-8 text ({e})"),
                });
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match Event::from_json(line) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use onair_core::{Platform, sample};
    use onair_store::Store;

    #[tokio::test]
    async fn a_line_that_is_not_utf8_is_a_bad_line_and_the_others_are_imported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("onair.db")).await.unwrap();
        let events = sample::every_kind(Platform::Kick);
        let mut file = Vec::new();
        file.extend_from_slice(events[0].to_json_line().as_bytes());
        file.extend_from_slice(b"\r\n{\"offset\": \xff\xfe}\n");
        file.extend_from_slice(events[1].to_json_line().as_bytes());
        let report = import_jsonl(&store.writer(), file.as_slice()).await.unwrap();
        assert_eq!(report.added, 2, "{report:?}");
        assert_eq!(report.bad_lines.len(), 1, "{report:?}");
        assert_eq!(report.bad_lines[0].line, 2);
        assert!(
            report.bad_lines[0].error.starts_with("not UTF-8 text ("),
            "{report:?}"
        );
        store.close().await;
    }
}
