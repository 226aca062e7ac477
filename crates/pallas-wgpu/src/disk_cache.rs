//! The driver's compiled pipelines kept on disk between processes (wgpu's
//! `PipelineCache`, Vulkan only), so that a process's first launch of a
//! kernel seen before skips the driver's shader compiler.
//!
//! The file is `$PALLAS_WGPU_CACHE_DIR/<key>.bin`, else under
//! `$XDG_CACHE_HOME/pallas-rs/` or `~/.cache/pallas-rs/`; `key` is wgpu's
//! per-adapter key (vendor and device), and the driver checks the data's
//! own header (a driver update discards it). `PALLAS_WGPU_CACHE=0` turns
//! the cache off. A cache that cannot be read or written costs only the
//! speed-up: nothing fails because of it.

use std::path::PathBuf;
use std::sync::Mutex;

/// A pipeline cache and the file it is saved to.
pub struct DiskCache {
    /// The cache handed to every pipeline.
    pub cache: wgpu::PipelineCache,
    path: PathBuf,
    // Serializes saves (several kernels may compile at once).
    saving: Mutex<()>,
}

fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PALLAS_WGPU_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("pallas-rs"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("pallas-rs"))
}

impl DiskCache {
    /// The adapter's cache, loaded from disk, or `None` when the device
    /// lacks `PIPELINE_CACHE`, the adapter has no cache key, or the cache
    /// is turned off.
    pub fn open(device: &wgpu::Device, info: &wgpu::AdapterInfo) -> Option<DiskCache> {
        if std::env::var("PALLAS_WGPU_CACHE").is_ok_and(|v| v == "0")
            || !device.features().contains(wgpu::Features::PIPELINE_CACHE)
        {
            return None;
        }
        let key = wgpu::util::pipeline_cache_key(info)?;
        let path = cache_dir()?.join(format!("{key}.bin"));
        let data = std::fs::read(&path).ok();
        // SAFETY: the data is only ever what `get_data` returned for an
        // adapter with this key (written by `save` below); wgpu and the
        // driver check its header and fall back to an empty cache.
        let cache = unsafe {
            device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                label: Some("pallas-wgpu pipelines"),
                data: data.as_deref(),
                fallback: true,
            })
        };
        Some(DiskCache {
            cache,
            path,
            saving: Mutex::new(()),
        })
    }

    /// Writes the cache's data to its file (through a temporary file and a
    /// rename, so a reader never sees half a file). Errors are ignored.
    pub fn save(&self) {
        let Some(data) = self.cache.get_data() else {
            return;
        };
        let _guard = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        let Some(dir) = self.path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &data).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// Where the cache is saved.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}
