//! The owner-only file store, on real files: what is kept comes back, deletes forget, the file is labelled
//! and 0600, a damaged file is an error that shows no secret, and concurrent writers lose nothing.

use onair_secrets::{Backend, Secrets, SecretsError};
use secrecy::{ExposeSecret, SecretString};

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

#[tokio::test]
async fn keeps_replaces_and_forgets_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("secrets.toml");
    let secrets = Secrets::file(path.clone());
    assert_eq!(secrets.backend(), &Backend::File(path.clone()));
    assert!(secrets.get("kick.oauth").await.unwrap().is_none());

    secrets
        .set("kick.oauth", &secret("first \"quoted\" value\n"))
        .await
        .unwrap();
    secrets
        .set("kick.client-secret", &secret("s3cr3t"))
        .await
        .unwrap();
    secrets.set("kick.oauth", &secret("second")).await.unwrap();

    // A second store on the same file (another process) sees the same.
    let again = Secrets::file(path.clone());
    assert_eq!(
        again.get("kick.oauth").await.unwrap().unwrap().expose_secret(),
        "second"
    );
    assert_eq!(
        again
            .get("kick.client-secret")
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        "s3cr3t"
    );

    assert!(again.delete("kick.oauth").await.unwrap());
    assert!(!again.delete("kick.oauth").await.unwrap());
    assert!(secrets.get("kick.oauth").await.unwrap().is_none());
    assert!(secrets.get("kick.client-secret").await.unwrap().is_some());

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# OnAir's secrets"),
        "the file says what it is: {text}"
    );
    assert!(
        !path.with_extension("toml.new").exists(),
        "no temporary file is left behind"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_file_is_owner_only_and_is_made_so_again() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    let secrets = Secrets::file(path.clone());
    secrets.set("relay.token", &secret("abc")).await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(secrets.get("relay.token").await.unwrap().is_some());
    assert_eq!(mode(&path), 0o600, "reading a loosened file tightens it");
}

#[tokio::test]
async fn a_damaged_file_is_an_error_that_shows_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    std::fs::write(
        &path,
        "# header\n\"kick.oauth\" = \"tok-visible\"\nbroken tok-hidden-value\n",
    )
    .unwrap();
    let error = Secrets::file(path.clone()).get("kick.oauth").await.unwrap_err();
    assert!(
        matches!(error, SecretsError::Damaged { line: 3, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("delete it and sign in again"), "{message}");
    assert!(
        !message.contains("tok-"),
        "the message must not quote the file: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Secrets::file(dir.path().join("secrets.toml"));
    let writers: Vec<_> = (0..16)
        .map(|i| {
            let secrets = secrets.clone();
            tokio::spawn(async move {
                secrets
                    .set(&format!("key{i}"), &secret(&format!("value{i}")))
                    .await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    for i in 0..16 {
        let value = secrets.get(&format!("key{i}")).await.unwrap().unwrap();
        assert_eq!(value.expose_secret(), format!("value{i}"));
    }
}
