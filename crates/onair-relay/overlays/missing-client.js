// Served in place of socket.io-client's bundle by an OnAir built without it (npm's install in
// crates/onair-relay/overlays, made by `cargo xtask setup`): the overlay shows this sentence instead of
// connecting.
window.onairMissingClient =
  "This OnAir build lacks its Socket.IO client: build it after `cargo xtask setup`.";
