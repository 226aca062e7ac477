//! Chrome trace output (`chrome://tracing`, Perfetto): one complete event
//! per grid point and per DMA, a track per core.

use std::fmt::Write;

/// One complete ("X") event.
#[derive(Clone, Debug)]
pub struct Event {
    /// What ran (`grid point [0, 1]`, `DMA x -> buf`).
    pub name: String,
    /// Category (`grid`, `dma`).
    pub cat: &'static str,
    /// Start, microseconds since the launch began.
    pub ts_us: f64,
    /// Duration in microseconds.
    pub dur_us: f64,
    /// The core (the trace's thread id).
    pub core: usize,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The trace as Chrome trace JSON.
pub fn to_json(kernel: &str, events: &[Event]) -> String {
    let mut s = String::from("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"kernel\":\"");
    s.push_str(&escape(kernel));
    s.push_str("\"},\"traceEvents\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"name\":\"{}\",\"cat\":\"{}\",\"ph\":\"X\",\"ts\":{:.3},\"dur\":{:.3},\"pid\":0,\"tid\":{}}}",
            escape(&e.name),
            e.cat,
            e.ts_us,
            e.dur_us,
            e.core
        );
    }
    s.push_str("]}\n");
    s
}
