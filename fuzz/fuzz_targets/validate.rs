//! Any kernel text through the parser and the validator: never a panic;
//! every error names the kernel; a valid kernel stays valid after a print
//! and parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pallas_ir::{text, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(k) = text::parse(src) else {
        return;
    };
    match validate(&k) {
        Ok(_) => {
            let again = text::parse(&text::print(&k)).expect("printed kernels parse");
            validate(&again).expect("a valid kernel stays valid through print and parse");
        }
        Err(errs) => {
            let msg = errs.to_string();
            assert!(msg.contains(&format!("kernel `{}`", k.name)), "{msg}");
        }
    }
});
