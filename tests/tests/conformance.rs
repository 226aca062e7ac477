//! Every corpus kernel on every backend compiled in, at small and full
//! size, against the independent references. A backend (or a backend
//! configuration) joins by one line.

use pallas_cpu::Cpu;
use pallas_sim::{DmaExecutionMode, SimConfig, Simulator};
use pallas_tests::conformance_suite;

conformance_suite!(sim, Simulator::default());
conformance_suite!(
    sim_on_wait,
    Simulator::new(SimConfig::default().dma_execution_mode(DmaExecutionMode::OnWait))
);
conformance_suite!(
    sim_two_cores_seed_3,
    Simulator::new(SimConfig::default().num_cores(2).random_seed(3))
);
conformance_suite!(
    sim_two_cores_on_wait_seed_7,
    Simulator::new(
        SimConfig::default()
            .num_cores(2)
            .dma_execution_mode(DmaExecutionMode::OnWait)
            .random_seed(7)
    )
);
conformance_suite!(
    sim_races_two_cores,
    Simulator::new(SimConfig::default().num_cores(2).detect_races(true))
);
conformance_suite!(cpu, Cpu::default());
