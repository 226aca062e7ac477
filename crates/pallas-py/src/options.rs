//! Backend options from a Python dict, with the names of JAX's
//! `InterpretParams` where one exists.

use pallas::exec::options::{
    DmaExecutionMode, OnRace, Options, OutOfBoundsReads, Target, UninitializedMemory,
};
use pallas::exec::Executor;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::bad_option;

/// The option names accepted; they fill the one [`Options`] value, which
/// the simulator honours whole (the fast mode and the GPU run without the
/// checks).
const SIM_OPTIONS: &[&str] = &[
    "detect_races",
    "on_race",
    "num_cores_or_threads",
    "random_seed",
    "dma_execution_mode",
    "out_of_bounds_reads",
    "uninitialized_memory",
    "skip_floating_point_ops",
    "target_tpu",
    "trace",
    "report_uninitialized_reads",
    "max_loop_iterations",
];

/// A backend by name, configured from `options`. Unknown backends and
/// options, and values of the wrong kind, are errors that say what is
/// accepted.
pub fn executor(backend: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<Box<dyn Executor>> {
    if !pallas::backends().contains(&backend) {
        return Err(bad_option(format!(
            "unknown backend `{backend}`: this build has {}",
            pallas::backends().join(", ")
        )));
    }
    let mut cfg = Options::default();
    if let Some(options) = options {
        for (key, value) in options.iter() {
            let key: String = key.extract()?;
            if !SIM_OPTIONS.contains(&key.as_str()) {
                return Err(bad_option(format!(
                    "unknown option `{key}`: the options are {}",
                    SIM_OPTIONS.join(", ")
                )));
            }
            if value.is_none() {
                continue;
            }
            cfg = apply(cfg, &key, &value)?;
        }
    }
    pallas::backend_with(backend, &cfg)
        .ok_or_else(|| bad_option(format!("unknown backend `{backend}`")))
}

fn apply(cfg: Options, key: &str, value: &Bound<'_, PyAny>) -> PyResult<Options> {
    let text = |v: &Bound<'_, PyAny>| -> PyResult<String> {
        v.extract::<String>()
            .map_err(|_| bad_option(format!("option `{key}` takes a string")))
    };
    let flag = |v: &Bound<'_, PyAny>| -> PyResult<bool> {
        v.extract::<bool>()
            .map_err(|_| bad_option(format!("option `{key}` takes True or False")))
    };
    let count = |v: &Bound<'_, PyAny>| -> PyResult<u64> {
        v.extract::<u64>()
            .map_err(|_| bad_option(format!("option `{key}` takes a non-negative integer")))
    };
    Ok(match key {
        "detect_races" => cfg.detect_races(flag(value)?),
        "on_race" => cfg.on_race(choice(
            key,
            &text(value)?,
            &[("raise", OnRace::Raise), ("warn", OnRace::Warn)],
        )?),
        "num_cores_or_threads" => {
            let n = count(value)?;
            if n == 0 || n > 1024 {
                return Err(bad_option(format!(
                    "option `num_cores_or_threads` must be 1 to 1024, found {n}"
                )));
            }
            cfg.num_cores(n as usize)
        }
        "random_seed" => cfg.random_seed(count(value)?),
        "dma_execution_mode" => cfg.dma_execution_mode(choice(
            key,
            &text(value)?,
            &[
                ("eager", DmaExecutionMode::Eager),
                ("on_wait", DmaExecutionMode::OnWait),
            ],
        )?),
        "out_of_bounds_reads" => cfg.out_of_bounds_reads(choice(
            key,
            &text(value)?,
            &[
                ("raise", OutOfBoundsReads::Raise),
                ("uninitialized", OutOfBoundsReads::Uninitialized),
            ],
        )?),
        "uninitialized_memory" => cfg.uninitialized_memory(choice(
            key,
            &text(value)?,
            &[
                ("nan", UninitializedMemory::Nan),
                ("zero", UninitializedMemory::Zero),
            ],
        )?),
        "skip_floating_point_ops" => cfg.skip_floating_point_ops(flag(value)?),
        "target_tpu" => cfg.target(if flag(value)? {
            Target::Tpu
        } else {
            Target::Interpret
        }),
        "trace" => cfg.trace(text(value)?),
        "report_uninitialized_reads" => cfg.report_uninitialized_reads(flag(value)?),
        "max_loop_iterations" => cfg.max_loop_iterations(count(value)?),
        _ => cfg,
    })
}

/// The value named `given` among `choices`, or an error listing them.
fn choice<T: Copy>(key: &str, given: &str, choices: &[(&str, T)]) -> PyResult<T> {
    choices
        .iter()
        .find(|(name, _)| *name == given)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
            bad_option(format!(
                "option `{key}` is {}, found {given:?}",
                names.join(" or ")
            ))
        })
}
