//! "What this run built" and which declared exposures that reaches.
//!
//! A node counts as built when a step that builds (`args.which` in run, build, seed, snapshot,
//! retry) reports it `success` or `partial success`. `partial success` is a microbatch model
//! some of whose batches were written: the table did change, so its readers are refreshed (the
//! failed batches are in the dbt run's own report). Only models, seeds and snapshots count.
//!
//! An exposure is affected when one of its `depends_on` nodes was built, or is a view, an
//! ephemeral model, a metric, a semantic model or a saved query (no data of its own) whose
//! upstream was built, walking up through any chain of them. A table that was not built stops the walk: its data did not change.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::manifest::{Exposure, Manifest};
use super::run_results::RunResults;

/// Node statuses that mean the relation now holds new data.
const BUILT_STATUSES: [&str; 2] = ["success", "partial success"];
/// Node kinds whose results change a relation.
const BUILT_KINDS: [&str; 3] = ["model.", "seed.", "snapshot."];

/// What the run built, from the run_results of its steps.
#[derive(Debug, Default, Clone)]
pub struct Built {
    /// unique_ids built in this run.
    pub nodes: BTreeSet<String>,
    /// unique_ids the run tried and did not build, with their status (`error`, `skipped`…).
    pub not_built: BTreeMap<String, String>,
    /// The commands whose results were read, in step order (`seed`, `build`).
    pub commands: Vec<String>,
    /// Results not read, and why (e.g. the `docs generate` step's).
    pub ignored: Vec<String>,
}

/// Reads the run_results of each step (`label` names the step for messages).
pub fn built_nodes<'a>(steps: impl IntoIterator<Item = (String, &'a RunResults)>) -> Built {
    let mut built = Built::default();
    for (label, results) in steps {
        if !results.built_nodes() {
            built.ignored.push(format!(
                "{label} (dbt {}, which builds nothing)",
                results.command()
            ));
            continue;
        }
        built.commands.push(results.command().to_string());
        for result in &results.results {
            if !BUILT_KINDS.iter().any(|k| result.unique_id.starts_with(k)) {
                continue;
            }
            if BUILT_STATUSES.contains(&result.status.as_str()) {
                built.not_built.remove(&result.unique_id);
                built.nodes.insert(result.unique_id.clone());
            } else if !built.nodes.contains(&result.unique_id) {
                built
                    .not_built
                    .insert(result.unique_id.clone(), result.status.clone());
            }
        }
    }
    built
}

/// What the run means for one exposure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExposureVerdict {
    /// Built nodes reach it: `because` lists them (sorted), `via` the views/ephemerals passed.
    Affected {
        because: Vec<String>,
        via: Vec<String>,
    },
    /// Nothing upstream was built, but upstream nodes failed or were skipped in this run.
    NotBuilt { failed: Vec<(String, String)> },
    /// The run did not touch its upstream.
    Untouched,
}

/// One exposure and its verdict.
#[derive(Debug, Clone)]
pub struct Affected<'m> {
    pub unique_id: &'m str,
    pub exposure: &'m Exposure,
    pub verdict: ExposureVerdict,
}

/// Every declared exposure with its verdict, sorted by name.
pub fn affected_exposures<'m>(manifest: &'m Manifest, built: &Built) -> Vec<Affected<'m>> {
    let mut all: Vec<Affected<'m>> = manifest
        .exposures
        .iter()
        .map(|(unique_id, exposure)| Affected {
            unique_id,
            exposure,
            verdict: verdict(manifest, built, &exposure.depends_on.nodes),
        })
        .collect();
    all.sort_by(|a, b| {
        (a.exposure.name.as_str(), a.unique_id).cmp(&(b.exposure.name.as_str(), b.unique_id))
    });
    all
}

/// What the run means for the readers of `parents` (an exposure's, or one relation for lineage):
/// the same walk as for exposures.
pub fn reach(manifest: &Manifest, built: &Built, parents: &[String]) -> ExposureVerdict {
    verdict(manifest, built, parents)
}

fn verdict(manifest: &Manifest, built: &Built, parents: &[String]) -> ExposureVerdict {
    let mut walk = Walk {
        manifest,
        built,
        because: BTreeSet::new(),
        via: BTreeSet::new(),
        failed: BTreeMap::new(),
        seen: HashMap::new(),
    };
    for parent in parents {
        walk.reaches_a_build(parent);
    }
    if !walk.because.is_empty() {
        ExposureVerdict::Affected {
            because: walk.because.into_iter().collect(),
            via: walk.via.into_iter().collect(),
        }
    } else if !walk.failed.is_empty() {
        ExposureVerdict::NotBuilt {
            failed: walk.failed.into_iter().collect(),
        }
    } else {
        ExposureVerdict::Untouched
    }
}

/// One exposure's walk up the graph.
struct Walk<'a> {
    manifest: &'a Manifest,
    built: &'a Built,
    because: BTreeSet<String>,
    /// Views and ephemerals on a path from a built node to the exposure.
    via: BTreeSet<String>,
    failed: BTreeMap<String, String>,
    /// Memo of answers; a node being walked counts as `false`, which also ends cycles.
    seen: HashMap<&'a str, bool>,
}

impl<'a> Walk<'a> {
    fn reaches_a_build(&mut self, id: &'a str) -> bool {
        if let Some(&known) = self.seen.get(id) {
            return known;
        }
        self.seen.insert(id, false);
        let reached = if self.built.nodes.contains(id) {
            self.because.insert(id.to_string());
            true
        } else {
            if let Some(status) = self.built.not_built.get(id) {
                self.failed.insert(id.to_string(), status.clone());
            }
            let mut any = false;
            if self.manifest.passes_through(id) {
                for parent in self.manifest.parents(id) {
                    any |= self.reaches_a_build(parent);
                }
                if any {
                    self.via.insert(id.to_string());
                }
            }
            any
        };
        self.seen.insert(id, reached);
        reached
    }
}

/// The short name of a unique_id (`model.shop.fct_orders` → `fct_orders`).
pub fn short_name(unique_id: &str) -> &str {
    unique_id.rsplit('.').next().unwrap_or(unique_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::from_slice(
            br#"{"nodes":{
              "seed.s.methods":{"resource_type":"seed","config":{"materialized":"seed"}},
              "model.s.stg_payments":{"resource_type":"model","config":{"materialized":"view"},"depends_on":{"nodes":["seed.s.methods"]}},
              "model.s.int_pay":{"resource_type":"model","config":{"materialized":"ephemeral"},"depends_on":{"nodes":["model.s.stg_payments"]}},
              "model.s.payments_v":{"resource_type":"model","config":{"materialized":"view"},"depends_on":{"nodes":["model.s.int_pay"]}},
              "model.s.fct_orders":{"resource_type":"model","config":{"materialized":"table"},"depends_on":{"nodes":["model.s.int_pay"]}},
              "model.s.orders_v":{"resource_type":"model","config":{"materialized":"view"},"depends_on":{"nodes":["model.s.fct_orders"]}},
              "model.s.fct_revenue":{"resource_type":"model","config":{"materialized":"incremental"},"depends_on":{"nodes":["model.s.fct_orders"]}},
              "model.s.dim_old":{"resource_type":"model","config":{"materialized":"table"},"depends_on":{"nodes":["seed.s.methods"]}}},
             "exposures":{
              "exposure.s.payments":{"name":"payments","depends_on":{"nodes":["model.s.payments_v"]}},
              "exposure.s.orders":{"name":"orders","depends_on":{"nodes":["model.s.orders_v"]}},
              "exposure.s.revenue":{"name":"revenue","depends_on":{"nodes":["model.s.fct_revenue"]}},
              "exposure.s.old":{"name":"old","depends_on":{"nodes":["model.s.dim_old"]}}}}"#,
            "m",
        )
        .expect("manifest")
    }

    fn results(which: &str, statuses: &[(&str, &str)]) -> RunResults {
        let results: Vec<_> = statuses
            .iter()
            .map(|(id, status)| serde_json::json!({"unique_id": id, "status": status}))
            .collect();
        let json = serde_json::json!({"args": {"which": which}, "results": results});
        RunResults::from_slice(json.to_string().as_bytes(), "r").expect("results")
    }

    fn verdicts(manifest: &Manifest, built: &Built) -> BTreeMap<String, ExposureVerdict> {
        affected_exposures(manifest, built)
            .into_iter()
            .map(|a| (a.exposure.name.clone(), a.verdict))
            .collect()
    }

    #[test]
    fn a_model_built_in_the_run_reaches_its_exposure_through_a_view() {
        let manifest = manifest();
        let build = results(
            "build",
            &[
                ("model.s.fct_orders", "success"),
                ("test.s.not_null", "pass"),
            ],
        );
        let built = built_nodes([("step 5".to_string(), &build)]);
        let verdicts = verdicts(&manifest, &built);
        assert_eq!(
            verdicts["orders"],
            ExposureVerdict::Affected {
                because: vec!["model.s.fct_orders".into()],
                via: vec!["model.s.orders_v".into()]
            }
        );
        assert_eq!(verdicts["payments"], ExposureVerdict::Untouched);
        assert_eq!(verdicts["old"], ExposureVerdict::Untouched);
    }

    #[test]
    fn a_seed_reaches_an_exposure_through_views_and_an_ephemeral_model() {
        let manifest = manifest();
        let seed = results("seed", &[("seed.s.methods", "success")]);
        let built = built_nodes([("step 4".to_string(), &seed)]);
        let verdicts = verdicts(&manifest, &built);
        let ExposureVerdict::Affected { because, via } = &verdicts["payments"] else {
            panic!("payments should be affected: {verdicts:?}")
        };
        assert_eq!(because, &["seed.s.methods"]);
        assert_eq!(
            via,
            &[
                "model.s.int_pay",
                "model.s.payments_v",
                "model.s.stg_payments"
            ]
        );
        // dim_old is a table that was not rebuilt: the seed's change stops there.
        assert_eq!(verdicts["old"], ExposureVerdict::Untouched);
    }

    #[test]
    fn an_exposure_on_a_metric_reaches_the_model_under_its_semantic_model() {
        let manifest = Manifest::from_slice(
            br#"{"nodes":{"model.s.fct_orders":{"resource_type":"model","config":{"materialized":"table"}}},
              "semantic_models":{"semantic_model.s.orders":{"depends_on":{"nodes":["model.s.fct_orders"]}}},
              "metrics":{"metric.s.revenue":{"depends_on":{"nodes":["semantic_model.s.orders"]}}},
              "exposures":{"exposure.s.kpis":{"name":"kpis","depends_on":{"nodes":["metric.s.revenue"]}}}}"#,
            "m",
        )
        .expect("manifest");
        let build = results("build", &[("model.s.fct_orders", "success")]);
        let built = built_nodes([("step 1".to_string(), &build)]);
        assert_eq!(
            verdicts(&manifest, &built)["kpis"],
            ExposureVerdict::Affected {
                because: vec!["model.s.fct_orders".into()],
                via: vec!["metric.s.revenue".into(), "semantic_model.s.orders".into()]
            }
        );
    }

    #[test]
    fn a_failed_models_exposure_is_not_affected_and_says_why() {
        let manifest = manifest();
        let build = results(
            "build",
            &[
                ("model.s.fct_orders", "success"),
                ("model.s.fct_revenue", "error"),
            ],
        );
        let built = built_nodes([("step 5".to_string(), &build)]);
        assert_eq!(
            verdicts(&manifest, &built)["revenue"],
            ExposureVerdict::NotBuilt {
                failed: vec![("model.s.fct_revenue".into(), "error".into())]
            }
        );
    }

    #[test]
    fn the_docs_generate_step_is_not_mistaken_for_the_build() {
        let manifest = manifest();
        let build = results("build", &[("model.s.fct_orders", "error")]);
        let docs = results(
            "generate",
            &[
                ("model.s.fct_orders", "success"),
                ("model.s.fct_revenue", "success"),
                ("seed.s.methods", "success"),
            ],
        );
        let built = built_nodes([
            ("step 5".to_string(), &build),
            ("step 6".to_string(), &docs),
        ]);
        assert!(built.nodes.is_empty(), "{built:?}");
        assert_eq!(built.commands, ["build"]);
        assert_eq!(built.ignored.len(), 1);
        assert!(
            built.ignored[0].contains("dbt docs generate"),
            "{:?}",
            built.ignored
        );
        assert!(
            verdicts(&manifest, &built)
                .values()
                .all(|v| !matches!(v, ExposureVerdict::Affected { .. }))
        );
    }

    #[test]
    fn partial_success_counts_and_a_later_retry_wins_over_an_error() {
        let first = results(
            "build",
            &[
                ("model.s.fct_orders", "error"),
                ("model.s.fct_revenue", "partial success"),
            ],
        );
        let retry = results("retry", &[("model.s.fct_orders", "success")]);
        let built = built_nodes([("1".to_string(), &first), ("2".to_string(), &retry)]);
        assert!(built.nodes.contains("model.s.fct_orders"));
        assert!(built.nodes.contains("model.s.fct_revenue"));
        assert!(built.not_built.is_empty());
    }
}
