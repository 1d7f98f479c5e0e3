//! Writes the fuzz targets' seed inputs (built from fixtures/providers and
//! examples/) into `<out>/<target>/seed-<name>`; scripts/fuzz.sh runs it before
//! each fuzzing session.
//!
//! cargo run -p tollgate-core --features fuzzing --example fuzz_seeds -- <out> [target...]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tollgate_core::fuzzing::{seeds, TARGETS};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: fuzz_seeds <out dir> [target...]");
        return ExitCode::from(2);
    };
    let wanted: Vec<String> = args.collect();
    if let Some(bad) = wanted
        .iter()
        .find(|w| !TARGETS.iter().any(|(name, _)| name == w))
    {
        eprintln!("fuzz_seeds: unknown target {bad}");
        return ExitCode::from(2);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match write(&root, &out, &wanted) {
        Ok(n) => {
            eprintln!("fuzz_seeds: {n} seeds under {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fuzz_seeds: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(root: &Path, out: &Path, wanted: &[String]) -> Result<usize, String> {
    let mut n = 0;
    for seed in seeds::all(root)? {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == seed.target) {
            continue;
        }
        let dir = out.join(seed.target);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(format!("seed-{}", seed.name));
        std::fs::write(&path, &seed.data).map_err(|e| format!("{}: {e}", path.display()))?;
        n += 1;
    }
    Ok(n)
}
