//! The benchmark's synthetic dbt artifacts (benches/harness/manifest_gen.rs) have the shape the
//! benchmark claims: our own reader takes them, with the counts asked for, and the run they
//! describe reaches exposures through views the way a real one does.

#[path = "../benches/harness/manifest_gen.rs"]
mod manifest_gen;

use dbt_tableau_refresh::dbt::artifacts::exposures::{ItemRef, tableau_items};
use dbt_tableau_refresh::dbt::artifacts::load;
use dbt_tableau_refresh::dbt::artifacts::{ExposureVerdict, affected_exposures};
use manifest_gen::{Project, write_dir, write_manifest};

#[test]
fn a_generated_manifest_reads_with_the_counts_asked_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = Project::with_models(120);
    let counts = write_dir(&project, dir.path()).expect("write");
    assert_eq!(counts.model_total(), 120);
    assert_eq!(counts.exposures, project.exposures);
    for materialized in ["view", "ephemeral", "table", "incremental"] {
        assert!(
            counts.models.get(materialized).is_some_and(|n| *n > 0),
            "no {materialized} model: {counts:?}"
        );
    }
    assert!(
        counts.seeds > 0 && counts.snapshots > 0 && counts.tests > 0,
        "{counts:?}"
    );
    assert!(
        counts.sources > 0 && counts.macros > 0 && counts.docs > 0,
        "{counts:?}"
    );
    assert!(
        counts.metrics > 0 && counts.semantic_models > 0,
        "{counts:?}"
    );

    let artifacts = load::from_dir(dir.path()).expect("our reader takes it");
    let manifest = &artifacts.manifest;
    assert_eq!(manifest.nodes.len(), counts.nodes());
    assert_eq!(manifest.exposures.len(), counts.exposures);
    assert_eq!(manifest.metrics.len(), counts.metrics);
    assert_eq!(manifest.semantic_models.len(), counts.semantic_models);
    let views = manifest
        .nodes
        .values()
        .filter(|n| n.resource_type == "model" && n.materialized() == "view")
        .count();
    assert_eq!(views, counts.models["view"]);
    let ephemeral = manifest
        .nodes
        .values()
        .filter(|n| n.materialized() == "ephemeral");
    assert!(ephemeral.clone().all(|n| n.relation().is_none()));
    assert_eq!(ephemeral.count(), counts.models["ephemeral"]);
    // parent_map holds every node, source, exposure, metric and semantic model.
    assert!(manifest.parent_map.len() >= counts.nodes() + counts.sources + counts.exposures);

    assert_eq!(artifacts.built.commands, ["build"]);
    assert_eq!(artifacts.built.nodes.len(), counts.built);
    assert_eq!(artifacts.built.not_built.len(), counts.not_built);
    assert!(
        counts.not_built > 0,
        "some models fail or are skipped: {counts:?}"
    );
    assert!(
        counts.results > counts.built,
        "tests are in the results too"
    );
}

#[test]
fn its_run_reaches_exposures_through_views_and_they_name_workbooks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = Project::with_models(300);
    let counts = write_dir(&project, dir.path()).expect("write");
    let artifacts = load::from_dir(dir.path()).expect("read");
    let verdicts = affected_exposures(&artifacts.manifest, &artifacts.built);
    assert_eq!(verdicts.len(), counts.exposures);
    let affected: Vec<_> = verdicts
        .iter()
        .filter(|a| matches!(a.verdict, ExposureVerdict::Affected { .. }))
        .collect();
    assert!(
        affected.len() > counts.exposures / 2,
        "most exposures are reached"
    );
    assert!(
        affected.iter().any(
            |a| matches!(&a.verdict, ExposureVerdict::Affected { via, .. } if !via.is_empty())
        ),
        "some through a view"
    );
    let (mut by_meta, mut by_url) = (0, 0);
    for a in &verdicts {
        let items = tableau_items(a.exposure, "").expect("every exposure names a workbook");
        assert_eq!(items.len(), 1);
        match &items[0] {
            ItemRef::Reference(..) => by_meta += 1,
            _ => by_url += 1,
        }
    }
    assert_eq!(
        (by_meta, by_url),
        (counts.exposures_by_meta, counts.exposures_by_url)
    );
}

#[test]
fn a_project_sized_for_one_or_five_megabytes_writes_about_that_much() {
    for megabytes in [1u64, 5] {
        let target = megabytes * 1_000_000;
        let mut bytes = Vec::new();
        write_manifest(&Project::sized(target), &mut bytes).expect("write");
        let ratio = bytes.len() as f64 / target as f64;
        assert!(
            (0.8..1.25).contains(&ratio),
            "{megabytes} MB asked, {} bytes written",
            bytes.len()
        );
    }
}
