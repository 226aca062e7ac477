//! The corpus through the text format: every kernel validates, prints to
//! the checked-in `examples/kernels/NAME.pk` (run with `BLESS=1` to
//! rewrite them), and parses back to an equal kernel.

use pallas_corpus as corpus;
use pallas_ir::{text, validate};
use std::path::PathBuf;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/kernels")
}

/// The one-line description at the top of each `.pk` file.
fn description(name: &str) -> &'static str {
    match name {
        "seed" => "o = sin((x + y) * 2) over f32 (16, 131072), blocks (16, 256): grid 512",
        "vector_add" => "o = x + y over 1000 elements in blocks of 128: the last block is partial",
        "matmul" => "o = x @ y, 256^3 in 128x128x64 tiles; K is arbitrary, f32 scratch accumulator",
        "softmax" => "row softmax of (64, 256), 8 rows per block",
        "layer_norm" => "layer norm of (64, 256) rows with gamma and beta, eps 1e-5",
        "rms_norm" => "RMS norm of (64, 256) rows with weight w, eps 1e-6",
        "cumsum_rows" => "inclusive cumulative sum along each row of (32, 128)",
        "block_sum" => "sum of each block of 128 elements, one scalar per block in SMEM",
        "flash_attention" => "flash-attention forward, one head: q (128, 64), k and v (256, 64)",
        "gather" => "gathers 8-row blocks of a table by an index table in scalar prefetch",
        "double_buffered_copy" => {
            "o = 2 * x, copied from HBM in 4 chunks with a manual double buffer"
        }
        "histogram" => "histogram of 1000 ints into 16 bins: masked loads and atomic adds",
        other => panic!("no description for corpus kernel {other}"),
    }
}

#[test]
fn corpus_validates_prints_and_round_trips() {
    let bless = std::env::var_os("BLESS").is_some();
    for e in corpus::all() {
        if let Err(errs) = validate(&e.kernel) {
            panic!("corpus kernel {} does not validate:\n{errs}", e.name);
        }
        let printed = format!("# {}\n{}", description(e.name), text::print(&e.kernel));
        let path = examples_dir().join(format!("{}.{}", e.name, text::EXTENSION));
        if bless {
            std::fs::write(&path, &printed).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err} (run with BLESS=1)", path.display()));
        assert_eq!(
            on_disk,
            printed,
            "{} differs from the printed kernel (run with BLESS=1 to update)",
            path.display()
        );
        let parsed =
            text::parse(&on_disk).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert_eq!(parsed, e.kernel, "{} does not parse back equal", e.name);
        assert_eq!(text::print(&parsed), text::print(&e.kernel));
        validate(&parsed).unwrap();
    }
}

#[test]
fn seed_grids_match_the_published_table() {
    let points: Vec<usize> = corpus::SEED_BLOCKS
        .iter()
        .map(|&b| {
            corpus::seed(corpus::SEED_SHAPE[0], corpus::SEED_SHAPE[1], b)
                .num_grid_points()
                .unwrap()
        })
        .collect();
    assert_eq!(points, vec![512, 16_384, 2_097_152]);
}
