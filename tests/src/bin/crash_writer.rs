//! `crash-writer DB [SEED]`: appends realistic events to the store at `DB` as fast as it can, forever, and
//! prints `OFFSET SOURCE_ID` for each event once its commit is confirmed. The crash-safety test kills it
//! with SIGKILL mid-stream and checks that everything it printed survived.

use std::io::Write;

use onair_core::sample::Traffic;
use onair_store::Store;
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: crash-writer DB [SEED]")?;
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let store = Store::open(path).await?;
    let writer = store.writer();
    let (receipts, mut confirmed) = mpsc::channel(4096);
    tokio::spawn(async move {
        for mut event in Traffic::new(seed, 2_000) {
            // Unique per run, so every printed id names exactly one event.
            event.source_id = event.source_id.map(|id| format!("{seed}-{id}"));
            let source_id = event.source_id.clone().unwrap_or_default();
            let Ok(receipt) = writer.append(event).await else {
                break;
            };
            if receipts.send((receipt, source_id)).await.is_err() {
                break;
            }
        }
    });
    let mut out = std::io::stdout().lock();
    while let Some((receipt, source_id)) = confirmed.recv().await {
        let appended = receipt.committed().await?;
        writeln!(out, "{} {source_id}", appended.offset)?;
        out.flush()?;
    }
    Ok(())
}
