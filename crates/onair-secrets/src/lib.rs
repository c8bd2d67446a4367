//! OnAir's secrets: OAuth tokens, the users' client secrets, the relay token. They live in the OS keychain
//! (Windows Credential Manager, macOS Keychain, the Secret Service on Linux) through `keyring`. Where a
//! machine has no keychain (a headless server, CI), they live in one clearly labelled file that only its
//! owner can read (0600), and OnAir says so. Secrets never reach a log, the database or the settings file;
//! errors name the secret, never its value.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

/// The keychain service every OnAir secret is filed under (the desktop app's identifier).
pub const SERVICE: &str = "app.onair.desktop";

/// The environment variable that picks the store: `keychain` or `file` (else: the keychain when this
/// machine has one, else the file).
pub const STORE_ENV: &str = "ONAIR_SECRET_STORE";

/// The fallback file's name, in OnAir's data folder.
pub const FILE_NAME: &str = "secrets.toml";

const FILE_HEADER: &str = "\
# OnAir's secrets (sign-in tokens, client secrets).
# This machine has no OS keychain, so OnAir keeps them in this file, readable only by you (0600).
# Do not share it. Delete it to forget every sign-in.
";

/// Where secrets are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The OS keychain.
    Keychain,
    /// The owner-only file, for machines without a keychain.
    File(PathBuf),
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Keychain => f.write_str("the OS keychain"),
            Backend::File(path) => write!(
                f,
                "the file {} (this machine has no OS keychain; only you can read it)",
                path.display()
            ),
        }
    }
}

/// What went wrong with a secret. Never holds a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The keychain refused.
    #[error("the OS keychain could not {action} \"{name}\" ({detail}); unlock the keychain and try again")]
    Keychain {
        /// read, save or delete.
        action: &'static str,
        /// The secret's name.
        name: String,
        /// The keychain's words.
        detail: String,
    },
    /// The fallback file could not be read or written.
    #[error("could not {action} the secrets file {}: {source}", path.display())]
    File {
        /// read or write.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The fallback file is not what OnAir writes.
    #[error("the secrets file {} is damaged (line {line}); delete it and sign in again", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where (1-based); the text itself is never shown, it may hold a secret.
        line: usize,
    },
}

/// The secret store; cheap to clone.
#[derive(Clone)]
pub struct Secrets {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// Serialises the file's read-modify-write cycles.
    file: Mutex<()>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("backend", &self.inner.backend)
            .finish()
    }
}

impl Secrets {
    /// The store to use: [`STORE_ENV`] when set, else the keychain when this machine has a working one,
    /// else the file `fallback` (logged, with the reason).
    pub async fn open(fallback: PathBuf) -> Secrets {
        match std::env::var(STORE_ENV).ok().as_deref().map(str::trim) {
            Some("file") => return Secrets::file(fallback),
            Some("keychain") => return Secrets::keychain(),
            Some(other) if !other.is_empty() => {
                tracing::warn!(
                    value = other,
                    "{STORE_ENV} is neither `keychain` nor `file`; ignored"
                )
            }
            _ => {}
        }
        let probe = tokio::task::spawn_blocking(keychain_works)
            .await
            .unwrap_or_else(|panic| Err(panic.to_string()));
        match probe {
            Ok(()) => Secrets::keychain(),
            Err(why) => {
                // Info, not a warning: signing in says where its secrets went, and watching needs none.
                tracing::info!(
                    file = %fallback.display(),
                    reason = %why,
                    "no OS keychain on this machine: secrets are kept in an owner-only file"
                );
                Secrets::file(fallback)
            }
        }
    }

    /// The OS keychain.
    pub fn keychain() -> Secrets {
        Secrets::with(Backend::Keychain)
    }

    /// The owner-only file at `path`.
    pub fn file(path: PathBuf) -> Secrets {
        Secrets::with(Backend::File(path))
    }

    fn with(backend: Backend) -> Secrets {
        Secrets {
            inner: Arc::new(Inner {
                backend,
                file: Mutex::new(()),
            }),
        }
    }

    /// Where the secrets are kept.
    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// The secret called `name`, if one is kept.
    pub async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        match &self.inner.backend {
            Backend::Keychain => {
                let name = name.to_owned();
                blocking(move || match entry(&name, "read")?.get_password() {
                    Ok(value) => Ok(Some(SecretString::from(value))),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(keychain_error("read", &name, &e)),
                })
                .await
            }
            Backend::File(path) => {
                let _guard = self.inner.file.lock().await;
                let (path, name) = (path.clone(), name.to_owned());
                blocking(move || Ok(read_file(&path)?.remove(&name).map(SecretString::from))).await
            }
        }
    }

    /// Keeps `value` as the secret called `name`, replacing any before.
    pub async fn set(&self, name: &str, value: &SecretString) -> Result<(), SecretsError> {
        let value = value.expose_secret().to_owned();
        match &self.inner.backend {
            Backend::Keychain => {
                let name = name.to_owned();
                blocking(move || {
                    entry(&name, "save")?
                        .set_password(&value)
                        .map_err(|e| keychain_error("save", &name, &e))
                })
                .await
            }
            Backend::File(path) => {
                let _guard = self.inner.file.lock().await;
                let (path, name) = (path.clone(), name.to_owned());
                blocking(move || {
                    let mut all = read_file(&path)?;
                    all.insert(name, value);
                    write_file(&path, &all)
                })
                .await
            }
        }
    }

    /// Forgets the secret called `name`; `false` when there was none.
    pub async fn delete(&self, name: &str) -> Result<bool, SecretsError> {
        match &self.inner.backend {
            Backend::Keychain => {
                let name = name.to_owned();
                blocking(move || match entry(&name, "delete")?.delete_credential() {
                    Ok(()) => Ok(true),
                    Err(keyring::Error::NoEntry) => Ok(false),
                    Err(e) => Err(keychain_error("delete", &name, &e)),
                })
                .await
            }
            Backend::File(path) => {
                let _guard = self.inner.file.lock().await;
                let (path, name) = (path.clone(), name.to_owned());
                blocking(move || {
                    let mut all = read_file(&path)?;
                    if all.remove(&name).is_none() {
                        return Ok(false);
                    }
                    write_file(&path, &all)?;
                    Ok(true)
                })
                .await
            }
        }
    }
}

/// Runs a blocking keychain or file call off the async threads.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, SecretsError> + Send + 'static,
) -> Result<T, SecretsError> {
    tokio::task::spawn_blocking(call).await.unwrap_or_else(|panic| {
        Err(SecretsError::Keychain {
            action: "reach",
            name: String::new(),
            detail: panic.to_string(),
        })
    })
}

fn entry(name: &str, action: &'static str) -> Result<keyring::Entry, SecretsError> {
    keyring::Entry::new(SERVICE, name).map_err(|e| keychain_error(action, name, &e))
}

fn keychain_error(action: &'static str, name: &str, error: &keyring::Error) -> SecretsError {
    SecretsError::Keychain {
        action,
        name: name.to_owned(),
        detail: error.to_string(),
    }
}

/// Whether the keychain answers: reading an entry that is not there must say "no entry", not fail.
fn keychain_works() -> Result<(), String> {
    let probe = keyring::Entry::new(SERVICE, "onair.keychain-probe").map_err(|e| e.to_string())?;
    match probe.get_password() {
        Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

fn read_file(path: &Path) -> Result<BTreeMap<String, String>, SecretsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(SecretsError::File {
                action: "read",
                path: path.to_owned(),
                source,
            });
        }
    };
    tighten_permissions(path);
    toml::from_str(&text).map_err(|e| SecretsError::Damaged {
        path: path.to_owned(),
        line: e
            .span()
            .map_or(1, |span| text[..span.start].matches('\n').count() + 1),
    })
}

/// Writes the whole file anew (a temporary file renamed over it, so a crash leaves the old or the new
/// one), owner-only from its creation.
fn write_file(path: &Path, all: &BTreeMap<String, String>) -> Result<(), SecretsError> {
    let failed = |source| SecretsError::File {
        action: "write",
        path: path.to_owned(),
        source,
    };
    let body = toml::to_string(all).map_err(|e| failed(std::io::Error::other(e.to_string())))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        create_private_dir(dir).map_err(failed)?;
    }
    let temporary = path.with_extension("toml.new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(failed)?;
    file.write_all(FILE_HEADER.as_bytes())
        .and_then(|()| file.write_all(body.as_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(failed)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A file someone made readable by others is made owner-only again.
#[cfg(unix)]
fn tighten_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), "the secrets file was readable by others; made owner-only");
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

#[cfg(not(unix))]
fn tighten_permissions(_path: &Path) {}
