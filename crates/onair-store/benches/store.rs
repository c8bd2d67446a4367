//! `cargo xtask bench store`: realistic, chat-heavy events through the real writer into a real SQLite file
//! (WAL, every index and the full-text index on). Reports events/s, batch commit latency and bytes per
//! event, then the append-to-commit latency at a live stream's pace (1000 events/s); the last line is
//! machine-readable:
//! `RESULT store events_per_s=N p50_commit_ms=N p99_commit_ms=N bytes_per_event=N paced_p99_ms=N`.
//!
//! `ONAIR_BENCH_EVENTS` sets how many events (default 300000).

use std::time::Instant;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use onair_core::sample::Traffic;
use onair_store::{Store, StoreOptions, metric};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::var("ONAIR_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install()?;

    let events: Vec<_> = Traffic::new(7, 20_000).take(count).collect();
    let sizes: Vec<usize> = events.iter().map(|e| e.to_json_line().len()).collect();
    let chat = events.iter().filter(|e| e.chat_text().is_some()).count();
    println!(
        "store bench: {count} events ({:.0}% chat), JSON v1 size min {} / mean {} / max {} bytes",
        100.0 * chat as f64 / count as f64,
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().sum::<usize>() / count.max(1),
        sizes.iter().max().unwrap_or(&0),
    );

    let dir = tempfile::tempdir()?;
    let mut options = StoreOptions::new(dir.path().join("bench.db"));
    if let Some(max) = std::env::var("ONAIR_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.batch.max_events = max;
    }
    let store = Store::open_with(options).await?;
    let writer = store.writer();
    let started = Instant::now();
    for event in events {
        writer.append_detached(event).await?;
    }
    writer.flush().await?;
    let elapsed = started.elapsed();
    let status = writer.status().borrow().clone();
    assert_eq!(
        status.committed as usize, count,
        "every event committed: {status:?}"
    );
    let path = store.path().to_owned();
    store.close().await;
    let bytes: u64 = std::fs::metadata(&path)?.len();

    let mut commits = Vec::new();
    let mut batch_sizes = Vec::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        if let DebugValue::Histogram(values) = value {
            let values: Vec<f64> = values.into_iter().map(|v| v.into_inner()).collect();
            match key.key().name() {
                metric::COMMIT_SECONDS => commits = values,
                metric::BATCH_EVENTS => batch_sizes = values,
                _ => {}
            }
        }
    }
    commits.sort_by(f64::total_cmp);
    let events_per_s = count as f64 / elapsed.as_secs_f64();
    let (p50, p99) = (percentile(&commits, 50.0) * 1e3, percentile(&commits, 99.0) * 1e3);
    let mean_batch = batch_sizes.iter().sum::<f64>() / batch_sizes.len().max(1) as f64;
    println!(
        "{count} events in {:.2} s: {events_per_s:.0} events/s; {} transactions of {mean_batch:.0} events on average",
        elapsed.as_secs_f64(),
        commits.len()
    );
    println!(
        "batch commit: p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        commits.last().copied().unwrap_or(0.0) * 1e3
    );
    println!("on disk: {bytes} bytes, {} bytes per event", bytes / count as u64);
    let (paced_p50, paced_p99) = paced(1_000, 5_000).await?;
    println!("paced at 1000 events/s: append-to-commit p50 {paced_p50:.2} ms, p99 {paced_p99:.2} ms");
    println!(
        "RESULT store events_per_s={events_per_s:.0} p50_commit_ms={p50:.2} p99_commit_ms={p99:.2} bytes_per_event={} \
         paced_p99_ms={paced_p99:.2}",
        bytes / count as u64
    );
    Ok(())
}

/// Appends `count` events at `per_second` (a live stream's pace) into a fresh store and returns the
/// p50 and p99 of the time from `append` to the commit confirmation, in milliseconds.
async fn paced(per_second: u64, count: usize) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path().join("paced.db")).await?;
    let writer = store.writer();
    let mut ticks = tokio::time::interval(std::time::Duration::from_micros(1_000_000 / per_second));
    let mut waits = Vec::with_capacity(count);
    for event in Traffic::new(11, 2_000).take(count) {
        ticks.tick().await;
        let sent = Instant::now();
        let receipt = writer.append(event).await?;
        waits.push(tokio::spawn(async move {
            receipt.committed().await.map(|_| sent.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    for wait in waits {
        latencies.push(wait.await??.as_secs_f64() * 1e3);
    }
    store.close().await;
    latencies.sort_by(f64::total_cmp);
    Ok((percentile(&latencies, 50.0), percentile(&latencies, 99.0)))
}
