//! Any bytes through the parser: never a panic; whatever parses prints
//! and parses back to an equal kernel.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pallas_ir::text;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(k) = text::parse(src) {
        let printed = text::print(&k);
        let again = text::parse(&printed).expect("printed kernels parse");
        assert_eq!(again, k, "print then parse changed the kernel");
    }
});
