//! The Chrome trace of a flash-attention launch: valid JSON, one event per
//! grid point (and per DMA, for a DMA kernel).

use ndarray::{ArrayD, IxDyn};
use pallas_corpus as corpus;
use pallas_exec::Executor;
use pallas_exec::HostArray;
use pallas_ir::validate;
use pallas_sim::{SimConfig, Simulator};

fn ones(shape: &[usize]) -> HostArray {
    HostArray::F32(ArrayD::from_elem(IxDyn(shape), 0.5))
}

fn trace_events(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    json["traceEvents"].as_array().expect("traceEvents").clone()
}

#[test]
fn flash_attention_trace_has_one_event_per_grid_point() {
    let path = std::env::temp_dir().join(format!("pallas-trace-{}.json", std::process::id()));
    let k = validate(&corpus::flash_attention(64, 128, 32, 16, 32)).unwrap();
    let sim = Simulator::new(SimConfig::default().num_cores(2).trace(&path));
    let args = [ones(&[64, 32]), ones(&[128, 32]), ones(&[128, 32])];
    let out = sim.compile(&k).unwrap().launch(&args).unwrap();
    let events = trace_events(&path);
    let grid = events.iter().filter(|e| e["cat"] == "grid").count();
    assert_eq!(grid, 4 * 4);
    assert_eq!(out.report.get("grid_points"), 16);
    for e in &events {
        assert_eq!(e["ph"], "X");
        assert!(e["ts"].as_f64().unwrap() >= 0.0 && e["dur"].as_f64().unwrap() >= 0.0);
        assert!(e["tid"] == 0 || e["tid"] == 1);
        assert!(e["name"].as_str().unwrap().starts_with("grid point ["));
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn dma_trace_has_one_event_per_dma() {
    let path = std::env::temp_dir().join(format!("pallas-dma-trace-{}.json", std::process::id()));
    let k = validate(&corpus::double_buffered_copy(4, 16, 128)).unwrap();
    let sim = Simulator::new(SimConfig::default().trace(&path));
    sim.compile(&k)
        .unwrap()
        .launch(&[ones(&[64, 128])])
        .unwrap();
    let events = trace_events(&path);
    assert_eq!(events.iter().filter(|e| e["cat"] == "dma").count(), 4);
    assert_eq!(
        events.iter().filter(|e| e["cat"] == "grid").count(),
        1,
        "an empty grid is one point"
    );
    std::fs::remove_file(&path).ok();
}
