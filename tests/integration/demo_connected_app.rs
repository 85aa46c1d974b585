//! `demo --scenario connected-app`: the connected-app story plays out through the real relay and
//! `refresh`, with a new JWT for the sign-in after the session expires.

use crate::common::Invocation;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connected_app_demo_signs_a_new_jwt_for_each_sign_in() {
    let run = Invocation::command(&["demo", "--scenario", "connected-app"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for expected in [
        "✔ The connected-app scenario played as it should",
        "after 2 connected-app sign-ins, each with a new JWT",
        "signing in again",
        "## ✅ Tableau refresh: success",
    ] {
        assert!(
            run.stdout.contains(expected),
            "no {expected:?}:\n{}",
            run.stdout
        );
    }
    assert!(
        !run.stdout.contains("sim-connected-app-secret-value"),
        "{}",
        run.stdout
    );
}
