//! Prints environment steps per second and the time of a coverage call.
fn main() {
    let steps = si_pusht::throughput::env_steps_per_second(200_000, 0).expect("finite actions");
    let cov = si_pusht::throughput::coverage_micros(2_000_000, 0);
    println!("env steps/s {steps:.0} ({:.0}x the reference's 3000); coverage {cov:.3} us ({:.0}x faster than 180 us)", steps / 3000.0, 180.0 / cov);
}
