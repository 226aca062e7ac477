//! Every corpus kernel on the wgpu backend, at small and full size,
//! against the independent references (on lavapipe where there is no GPU).

mod common;

use pallas_tests::conformance_suite;
use pallas_wgpu::Wgpu;

conformance_suite!(wgpu, Wgpu::default(), when common::have_gpu());
