//! Prints the WGSL the backend generates for a corpus case:
//! `cargo run -p pallas-wgpu --example print_wgsl -- matmul full`.

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "seed_grid_512".into());
    let size = match args.next().as_deref() {
        Some("full") => pallas_tests::Size::Full,
        _ => pallas_tests::Size::Small,
    };
    let Some(case) = pallas_tests::case(&name, size) else {
        eprintln!(
            "no corpus case named {name}; try one of {:?}",
            pallas_tests::case_names()
        );
        std::process::exit(2);
    };
    match pallas_ir::validate(&case.kernel) {
        Ok(vk) => match pallas_wgpu::Wgpu::wgsl(&vk) {
            Ok(src) => print!("{src}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        },
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
