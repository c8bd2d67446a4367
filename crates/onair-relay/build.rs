//! Puts socket.io-client's browser bundle (`dist/socket.io.min.js`, from npm's install in `overlays/`, made
//! by `cargo xtask setup`) into `OUT_DIR` for the overlays to embed. Without it the relay still builds: it
//! serves `overlays/missing-client.js` in its place, which makes each overlay say what to do.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("socket.io.min.js");
    let bundle = manifest.join("overlays/node_modules/socket.io-client/dist/socket.io.min.js");
    let stand_in = manifest.join("overlays/missing-client.js");
    // A missing file counts as changed, so the bundle is picked up by the first build after setup; npm
    // writes its record of an install last, so a reinstall is noticed too.
    println!("cargo::rerun-if-changed={}", bundle.display());
    println!(
        "cargo::rerun-if-changed={}",
        manifest
            .join("overlays/node_modules/.package-lock.json")
            .display()
    );
    println!("cargo::rerun-if-changed={}", stand_in.display());
    let script = match fs::read(&bundle) {
        Ok(script) => script,
        Err(e) => {
            println!(
                "cargo::warning=the overlays' Socket.IO client is missing ({}: {e}): this build's overlays \
                 only say so; run `cargo xtask setup`, then build again",
                bundle.display()
            );
            fs::read(&stand_in).unwrap_or_else(|e| panic!("cannot read {}: {e}", stand_in.display()))
        }
    };
    // Written only when it differs, so a build without the bundle (the script reruns each time) does not
    // recompile the crate and everything above it every time.
    if fs::read(&out).ok().as_deref() != Some(script.as_slice()) {
        fs::write(&out, script).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    }
}
