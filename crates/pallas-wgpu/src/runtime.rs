//! The wgpu runtime: one device per process, a validated pipeline per
//! compiled kernel, buffers kept across launches, one dispatch per launch.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use ndarray::{ArrayD, IxDyn};
use pallas_exec::{HostArray, HostOut, HostView};
use pallas_ir::DType;

use pallas_exec::ExecError;

use crate::disk_cache::DiskCache;
use crate::wgsl::{self, Shader};
use crate::BACKEND_NAME;

/// The device every compiled kernel shares.
pub struct Gpu {
    /// The adapter's description (name, backend, device type).
    pub info: wgpu::AdapterInfo,
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The limits the device was created with (the adapter's own).
    pub limits: wgpu::Limits,
    /// Whether compute passes can write timestamps.
    pub timestamps: bool,
    /// Whether `shader-f16` was enabled (the adapter has it).
    pub f16: bool,
    /// Compiled pipelines kept on disk across processes (Vulkan).
    disk_cache: Option<DiskCache>,
    /// Held around every call into the device when the backend is GL,
    /// whose wgpu-hal context cannot be shared by threads at once.
    exclusive: Option<Mutex<()>>,
}

/// The wgpu backends tried when `WGPU_BACKEND` names none: Vulkan, Metal,
/// DX12 (and WebGPU in a browser). OpenGL only when asked for by name.
pub const DEFAULT_BACKENDS: wgpu::Backends = wgpu::Backends::PRIMARY;

/// Runs `f`, turning a panic inside the GPU stack into a backend error
/// naming `what`: a wgpu or driver panic never reaches the caller.
pub fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, ExecError>) -> Result<T, ExecError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let why = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Err(backend_error(format!(
                "{what}: the GPU stack panicked: {why}"
            )))
        }
    }
}

fn backend_error(message: impl Into<String>) -> ExecError {
    ExecError::Backend {
        backend: BACKEND_NAME.into(),
        message: message.into(),
    }
}

static GPU: OnceLock<Result<Arc<Gpu>, String>> = OnceLock::new();

impl Gpu {
    /// The process's device, created on first use. `WGPU_BACKEND`,
    /// `WGPU_ADAPTER_NAME` and `WGPU_POWER_PREF` choose among adapters;
    /// without `WGPU_BACKEND` only [`DEFAULT_BACKENDS`] are tried, so a
    /// machine with OpenGL alone has no device unless `WGPU_BACKEND=gl`.
    pub fn shared() -> Result<Arc<Gpu>, ExecError> {
        GPU.get_or_init(|| {
            guarded("opening the device", || {
                Gpu::create().map_err(|message| ExecError::NoDevice {
                    backend: BACKEND_NAME.into(),
                    message,
                })
            })
            .map(Arc::new)
            .map_err(|e| match e {
                ExecError::NoDevice { message, .. } => message,
                other => other.to_string(),
            })
        })
        .clone()
        .map_err(|message| ExecError::NoDevice {
            backend: BACKEND_NAME.into(),
            message,
        })
    }

    fn create() -> Result<Gpu, String> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = DEFAULT_BACKENDS;
        let desc = desc.with_env();
        let asked = desc.backends;
        let instance = wgpu::Instance::new(desc);
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::from_env()
                .unwrap_or(wgpu::PowerPreference::HighPerformance),
            force_fallback_adapter: false,
            compatible_surface: None,
            apply_limit_buckets: false,
        };
        let adapter = pollster::block_on(instance.request_adapter(&options))
            .map_err(|e| {
                let gl = if asked.contains(wgpu::Backends::GL) {
                    ""
                } else {
                    "; OpenGL is not tried unless WGPU_BACKEND=gl"
                };
                format!(
                    "no GPU adapter among backends {asked:?} ({e}); on a machine without a GPU install Mesa's lavapipe (mesa-vulkan-drivers){gl}"
                )
            })?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        let required = features
            & (wgpu::Features::TIMESTAMP_QUERY
                | wgpu::Features::SHADER_F16
                | wgpu::Features::PIPELINE_CACHE);
        // The adapter's own limits first; some drivers (NVIDIA through
        // EGL) refuse those and open with the WebGPU defaults.
        let mut opened = None;
        let mut why = String::new();
        for (limits, features) in [
            (limits.clone(), required),
            (
                wgpu::Limits::default().using_resolution(limits.clone()),
                required,
            ),
            (wgpu::Limits::downlevel_defaults(), wgpu::Features::empty()),
        ] {
            match pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
                label: Some("pallas-wgpu"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })) {
                Ok(dq) => {
                    opened = Some((dq, limits, features));
                    break;
                }
                Err(e) => why = e.to_string(),
            }
        }
        let Some(((device, queue), limits, features)) = opened else {
            return Err(format!(
                "adapter `{}`: could not open a device: {why}",
                info.name
            ));
        };
        let timestamps = features.contains(wgpu::Features::TIMESTAMP_QUERY);
        let f16 = features.contains(wgpu::Features::SHADER_F16);
        // Errors are caught by error scopes around each call; anything
        // else is reported, not a panic.
        device.on_uncaptured_error(Arc::new(|e| {
            eprintln!("pallas-wgpu: uncaptured wgpu error: {e}")
        }));
        let disk_cache = DiskCache::open(&device, &info);
        let exclusive = (info.backend == wgpu::Backend::Gl).then(|| Mutex::new(()));
        Ok(Gpu {
            info,
            device,
            queue,
            limits,
            timestamps,
            f16,
            disk_cache,
            exclusive,
        })
    }

    /// The lock every call into a GL device holds (`None` on other
    /// backends, which are safe to use from several threads).
    fn exclusive(&self) -> Option<MutexGuard<'_, ()>> {
        self.exclusive
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Where compiled pipelines are kept across processes, if anywhere.
    pub fn pipeline_cache_path(&self) -> Option<&std::path::Path> {
        self.disk_cache.as_ref().map(|c| c.path())
    }

    /// The generator's view of the device limits.
    pub fn gen_limits(&self) -> wgsl::Limits {
        wgsl::Limits {
            // Keep a margin for the uniform-load word.
            workgroup_storage_bytes: self
                .limits
                .max_compute_workgroup_storage_size
                .saturating_sub(16),
            max_workgroups: self.limits.max_compute_workgroups_per_dimension,
            max_binding_bytes: self.limits.max_storage_buffer_binding_size,
            max_storage_buffers: self.limits.max_storage_buffers_per_shader_stage,
        }
    }

    /// One line naming the adapter.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }
}

/// Parses and validates a module with naga, the way a pipeline would.
pub fn validate_wgsl(source: &str) -> Result<naga::Module, String> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .map_err(|e| e.emit_to_string(source))?;
    Ok(module)
}

/// An array of `dtype` and `shape` from its 32-bit words, in one copy.
fn host_array(dtype: DType, shape: &[usize], words: &[u32]) -> Result<HostArray, ExecError> {
    let dim = IxDyn(shape);
    let bad = |e: ndarray::ShapeError| backend_error(format!("reading an output back: {e}"));
    if dtype.is_narrow() {
        // One word per element, holding the wide value.
        let n: usize = shape.iter().product();
        if n != words.len() {
            return Err(backend_error(format!(
                "reading an output back: {} words for shape {shape:?}",
                words.len()
            )));
        }
        let wide = pallas_exec::eval::narrow::from_bits(dtype.wide(), words.iter().copied());
        return Ok(wide.into_host(shape, dtype));
    }
    Ok(match dtype {
        DType::F32 => HostArray::F32(
            ArrayD::from_shape_vec(dim, bytemuck::cast_slice::<u32, f32>(words).to_vec())
                .map_err(bad)?,
        ),
        DType::I32 => HostArray::I32(
            ArrayD::from_shape_vec(dim, bytemuck::cast_slice::<u32, i32>(words).to_vec())
                .map_err(bad)?,
        ),
        DType::U32 => HostArray::U32(ArrayD::from_shape_vec(dim, words.to_vec()).map_err(bad)?),
        _ => HostArray::Bool(
            ArrayD::from_shape_vec(dim, words.iter().map(|&w| w != 0).collect()).map_err(bad)?,
        ),
    })
}

/// The bytes of an argument as the shader reads them: 32 bits an
/// element (a narrow dtype's wide value: bf16 as f32, i8 as i32, ...),
/// borrowed when the array is contiguous and 32-bit.
pub fn arg_bytes(a: &HostArray) -> Cow<'_, [u8]> {
    arg_bytes_of_view(&a.view())
}

/// [`arg_bytes`] of a borrowed array: its own memory where it is a
/// row-major 32-bit array (no copy), else one converted copy.
pub fn arg_bytes_of_view<'a>(a: &HostView<'a>) -> Cow<'a, [u8]> {
    fn raw<'a, T: bytemuck::Pod>(a: &ndarray::ArrayViewD<'a, T>) -> Option<&'a [u8]> {
        a.to_slice().map(bytemuck::cast_slice)
    }
    let borrowed = match a {
        HostView::F32(x) => raw(x),
        HostView::I32(x) => raw(x),
        HostView::U32(x) => raw(x),
        _ => None,
    };
    match borrowed {
        Some(b) => Cow::Borrowed(b),
        // Narrow dtypes travel one word per element, as their wide values.
        None if a.dtype().is_narrow() => {
            let wide = pallas_exec::eval::Data::from_view(a);
            let words = pallas_exec::eval::narrow::to_bits(a.dtype().wide(), &wide);
            Cow::Owned(bytemuck::cast_slice(&words).to_vec())
        }
        None => Cow::Owned(bytemuck::cast_slice(&a.to_owned().to_bits()).to_vec()),
    }
}

/// Error words for `faults` fault codes (1-based): word 0 stays zero,
/// bit `c % 32` of word `1 + c / 32` is code `c`.
fn error_words(faults: usize) -> usize {
    1 + (faults + 1).div_ceil(32)
}

/// Buffers of one compiled kernel, kept between launches.
struct Buffers {
    globals: Vec<wgpu::Buffer>,
    readback: wgpu::Buffer,
    readback_words: usize,
    bind_group: wgpu::BindGroup,
    err: Option<wgpu::Buffer>,
    queries: Option<(wgpu::QuerySet, wgpu::Buffer)>,
}

/// A compiled pipeline and its buffers.
pub struct Pipeline {
    gpu: Arc<Gpu>,
    /// The module it runs.
    pub shader: Shader,
    pipeline: wgpu::ComputePipeline,
    bind_layout: wgpu::BindGroupLayout,
    buffers: Mutex<Option<Buffers>>,
}

/// What one dispatch produced.
pub struct Dispatched {
    /// The outputs, in order.
    pub outputs: Vec<HostArray>,
    /// Device time of the dispatch, when the adapter has timestamps.
    pub device_ns: Option<u64>,
    /// The fault code, 0 when none.
    pub fault: u32,
}

impl Pipeline {
    /// Validates the module with naga and creates the pipeline (a panic
    /// inside wgpu becomes a backend error).
    pub fn new(gpu: Arc<Gpu>, shader: Shader, kernel: &str) -> Result<Pipeline, ExecError> {
        let what = format!("kernel `{kernel}`: creating the pipeline");
        guarded(&what, || Pipeline::create(gpu, shader, kernel))
    }

    fn create(gpu: Arc<Gpu>, shader: Shader, kernel: &str) -> Result<Pipeline, ExecError> {
        if let Err(e) = validate_wgsl(&shader.source) {
            return Err(backend_error(format!(
                "kernel `{kernel}`: the generated WGSL does not validate:\n{e}\n--- WGSL ---\n{}",
                shader.source
            )));
        }
        let max = gpu.limits.max_storage_buffer_binding_size;
        for b in &shader.buffers {
            if (b.words as u64) * 4 > max {
                return Err(backend_error(format!(
                    "kernel `{kernel}`: array `{}` has {} bytes, more than the adapter's largest storage binding ({max} bytes)",
                    b.name,
                    b.words * 4
                )));
            }
        }
        let bindings = shader.buffers.len()
            + usize::from(shader.area_words > 0)
            + usize::from(shader.atomic_area_words > 0)
            + usize::from(shader.has_error_word)
            + usize::from(shader.area_vec4);
        let max_bindings = gpu.limits.max_storage_buffers_per_shader_stage as usize;
        if bindings > max_bindings {
            return Err(backend_error(format!(
                "kernel `{kernel}`: needs {bindings} storage buffers, the adapter allows {max_bindings} per shader"
            )));
        }
        let device = &gpu.device;
        let _exclusive = gpu.exclusive();
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel),
            source: wgpu::ShaderSource::Wgsl(shader.source.as_str().into()),
        });
        // An explicit layout: every buffer is bound, used by the module or
        // not (a derived layout would drop an unused one).
        let read_only: Vec<bool> = shader
            .buffers
            .iter()
            .map(|b| b.read_only)
            .chain(std::iter::repeat_n(false, bindings - shader.buffers.len()))
            .collect();
        let entries: Vec<wgpu::BindGroupLayoutEntry> = read_only
            .iter()
            .enumerate()
            .map(|(i, &ro)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only: ro },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let bind_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(kernel),
            entries: &entries,
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(kernel),
            bind_group_layouts: &[Some(&bind_layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel),
            layout: Some(&layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: gpu.disk_cache.as_ref().map(|c| &c.cache),
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(backend_error(format!(
                "kernel `{kernel}`: wgpu rejected the pipeline: {e}\n--- WGSL ---\n{}",
                shader.source
            )));
        }
        if let Some(c) = &gpu.disk_cache {
            c.save();
        }
        drop(_exclusive);
        Ok(Pipeline {
            gpu,
            shader,
            pipeline,
            bind_layout,
            buffers: Mutex::new(None),
        })
    }

    fn make_buffers(&self) -> Buffers {
        let device = &self.gpu.device;
        let s = &self.shader;
        let storage = |label: &str, words: usize| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (words.max(1) * 4) as u64,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        };
        let globals: Vec<wgpu::Buffer> = s
            .buffers
            .iter()
            .map(|b| storage(&b.name, b.words))
            .collect();
        let mut extra = Vec::new();
        let wgs = s.workgroups as usize;
        if s.area_words > 0 {
            extra.push(storage("area", s.area_words * wgs));
        }
        if s.atomic_area_words > 0 {
            extra.push(storage("atomic area", s.atomic_area_words * wgs));
        }
        let err = s
            .has_error_word
            .then(|| storage("error words", error_words(s.faults.len())));
        let mut entries: Vec<wgpu::BindGroupEntry> = globals
            .iter()
            .chain(extra.iter())
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        if let Some(e) = &err {
            entries.push(wgpu::BindGroupEntry {
                binding: entries.len() as u32,
                resource: e.as_entire_binding(),
            });
        }
        if s.area_vec4 {
            // The area again, read four words at a time.
            entries.push(wgpu::BindGroupEntry {
                binding: entries.len() as u32,
                resource: extra[0].as_entire_binding(),
            });
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("pallas-wgpu bindings"),
            layout: &self.bind_layout,
            entries: &entries,
        });
        let readback_words = s
            .out_buffers
            .iter()
            .map(|&b| s.buffers[b].words)
            .sum::<usize>()
            + error_words(s.faults.len());
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: ((readback_words + 6) * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let queries = self.gpu.timestamps.then(|| {
            let set = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("dispatch time"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolve = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            (set, resolve)
        });
        let _ = extra;
        Buffers {
            globals,
            readback,
            readback_words,
            bind_group,
            err,
            queries,
        }
    }

    /// Uploads the arguments (the bytes of each scalar-prefetch and input
    /// argument, 32 bits an element), runs the one dispatch, and reads the
    /// outputs (of the given dtypes and shapes) back. A panic inside wgpu
    /// becomes a backend error.
    pub fn run(
        &self,
        args: &[Cow<[u8]>],
        outputs: &[(DType, Vec<usize>)],
        into: Option<&mut [HostOut<'_>]>,
    ) -> Result<Dispatched, ExecError> {
        guarded("the launch", || {
            let _exclusive = self.gpu.exclusive();
            self.dispatch(args, outputs, into)
        })
    }

    fn dispatch(
        &self,
        args: &[Cow<[u8]>],
        outputs: &[(DType, Vec<usize>)],
        mut into: Option<&mut [HostOut<'_>]>,
    ) -> Result<Dispatched, ExecError> {
        let (device, queue) = (&self.gpu.device, &self.gpu.queue);
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut guard = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        let bufs = guard.get_or_insert_with(|| self.make_buffers());
        let s = &self.shader;
        let mut enc = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("pallas-wgpu launch"),
        });
        for (&b, bytes) in s.arg_buffers.iter().zip(args) {
            if !bytes.is_empty() {
                queue.write_buffer(&bufs.globals[b], 0, bytes);
            }
        }
        for &b in &s.out_buffers {
            if !s.arg_buffers.contains(&b) && !s.outputs_fully_written {
                enc.clear_buffer(&bufs.globals[b], 0, None);
            }
        }
        if let Some(e) = &bufs.err {
            enc.clear_buffer(e, 0, None);
        }
        {
            let timestamp_writes =
                bufs.queries
                    .as_ref()
                    .map(|(set, _)| wgpu::ComputePassTimestampWrites {
                        query_set: set,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(1),
                    });
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("grid"),
                timestamp_writes,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bufs.bind_group, &[]);
            pass.dispatch_workgroups(s.workgroups, 1, 1);
        }
        let mut off = 0u64;
        for &b in &s.out_buffers {
            let bytes = (s.buffers[b].words * 4) as u64;
            if bytes > 0 {
                enc.copy_buffer_to_buffer(&bufs.globals[b], 0, &bufs.readback, off, bytes);
            }
            off += bytes;
        }
        if let Some(e) = &bufs.err {
            let bytes = (error_words(s.faults.len()) * 4) as u64;
            enc.copy_buffer_to_buffer(e, 0, &bufs.readback, off, bytes);
        }
        let ts_off = ((bufs.readback_words * 4).div_ceil(8) * 8) as u64;
        if let Some((set, resolve)) = &bufs.queries {
            enc.resolve_query_set(set, 0..2, resolve, 0);
            enc.copy_buffer_to_buffer(resolve, 0, &bufs.readback, ts_off, 16);
        }
        queue.submit([enc.finish()]);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(backend_error(format!("the launch failed: {e}")));
        }
        let slice = bufs.readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| backend_error(format!("waiting for the dispatch: {e}")))?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(backend_error(format!("reading results back: {e}"))),
            Err(_) => {
                return Err(backend_error(
                    "reading results back: the map never completed",
                ))
            }
        }
        let (outputs, fault, device_ns) = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| backend_error(format!("reading results back: {e}")))?;
            let words: &[u32] = bytemuck::cast_slice(&view);
            let mut arrays = Vec::new();
            let mut at = 0;
            for (i, (&b, (dtype, shape))) in s.out_buffers.iter().zip(outputs).enumerate() {
                let n = s.buffers[b].words;
                let w = &words[at..at + n];
                at += n;
                // Into the caller's buffer: 32-bit outputs straight from the
                // mapped memory, others through one converted array.
                if let Some(out) = into.as_deref_mut().and_then(|o| o.get_mut(i)) {
                    let direct = match out {
                        HostOut::F32(o) if o.len() == n && *dtype == DType::F32 => {
                            o.copy_from_slice(bytemuck::cast_slice(w));
                            true
                        }
                        HostOut::I32(o) if o.len() == n && *dtype == DType::I32 => {
                            o.copy_from_slice(bytemuck::cast_slice(w));
                            true
                        }
                        HostOut::U32(o) if o.len() == n && *dtype == DType::U32 => {
                            o.copy_from_slice(w);
                            true
                        }
                        _ => false,
                    };
                    if !direct {
                        out.copy_from(&host_array(*dtype, shape, w)?)
                            .map_err(backend_error)?;
                    }
                    continue;
                }
                arrays.push(host_array(*dtype, shape, w)?);
            }
            let fault = if s.has_error_word {
                let n = error_words(s.faults.len());
                (1..n)
                    .find_map(|w| {
                        let bits = words[at + w];
                        (bits != 0).then(|| ((w - 1) * 32) as u32 + bits.trailing_zeros())
                    })
                    .unwrap_or(0)
            } else {
                0
            };
            let device_ns = bufs.queries.as_ref().map(|_| {
                let t = ts_off as usize / 4;
                let t0 = words[t] as u64 | (words[t + 1] as u64) << 32;
                let t1 = words[t + 2] as u64 | (words[t + 3] as u64) << 32;
                (t1.saturating_sub(t0) as f64 * self.gpu.queue.get_timestamp_period() as f64) as u64
            });
            (arrays, fault, device_ns)
        };
        bufs.readback.unmap();
        Ok(Dispatched {
            outputs,
            device_ns,
            fault,
        })
    }
}
