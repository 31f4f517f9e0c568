//! Sampling a real collector in a test: one round (an unreachable endpoint
//! fails the test), or rounds until the figures say what the test waits for.

use std::time::Duration;

use cutover::collect::Collector;
use cutover::events::{EndpointSample, Reading};

/// How long [`observe_until`] samples before it fails the test.
pub const OBSERVE_FOR: Duration = Duration::from_secs(60);

/// One round; panics when the endpoint does not answer.
pub async fn observe(collector: &mut Collector) -> EndpointSample {
    match collector.sample().await {
        Reading::Observed(o) => o,
        Reading::Unreachable { error } => panic!("{} unreachable: {error}", collector.endpoint().name),
    }
}

/// Sample every 200 ms until `check` holds, returning the sample that
/// satisfied it; fails the test with the last sample after [`OBSERVE_FOR`].
pub async fn observe_until(
    collector: &mut Collector,
    what: &str,
    check: impl Fn(&EndpointSample) -> bool,
) -> EndpointSample {
    let deadline = tokio::time::Instant::now() + OBSERVE_FOR;
    loop {
        let sample = observe(collector).await;
        if check(&sample) {
            return sample;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}; last sample: {sample:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
