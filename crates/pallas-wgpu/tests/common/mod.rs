//! What the wgpu tests share: whether there is an adapter to run on.

use std::sync::OnceLock;

/// Whether a GPU adapter (lavapipe counts) is available. In CI
/// (`CI=true`) a missing adapter fails the test; elsewhere the tests skip
/// with a message.
pub fn have_gpu() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| match pallas_wgpu::Gpu::shared() {
        Ok(g) => {
            eprintln!("pallas-wgpu tests on {}", g.describe());
            true
        }
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but there is no wgpu adapter: {e}");
            }
            eprintln!("skipping the wgpu tests: {e}");
            false
        }
    })
}
