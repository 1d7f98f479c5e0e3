//! `render --dynamic DIR`: the parts of the bootstrap that follow config.yaml
//! (upstream clusters and the filter's configuration) move into watched files,
//! so re-rendering reaches a running Envoy without a restart (CDS and ECDS from
//! the filesystem). In-flight requests finish on the configuration they started
//! with; shared data (keys, counters, spend) is kept because the VM id is unchanged.

use serde_json::{json, Value};
use std::path::Path;

/// Name of the filter's extension config (ECDS resource).
pub const FILTER_NAME: &str = "tollgate";
/// Cluster discovery file inside the dynamic directory.
pub const CDS_FILE: &str = "cds.yaml";
/// Filter config discovery file inside the dynamic directory.
pub const ECDS_FILE: &str = "ecds.yaml";

/// The split output: a bootstrap pointing at the two resource files.
pub struct Split {
    /// Bootstrap with dynamic cluster and filter-config sources.
    pub bootstrap: Value,
    /// CDS resource file contents.
    pub cds: Value,
    /// ECDS resource file contents.
    pub ecds: Value,
}

fn source(dir: &str, file: &str) -> Value {
    json!({
        "path_config_source": {
            "path": format!("{dir}/{file}"),
            // Envoy re-reads the file when something is moved into the directory,
            // which is how `write_atomically` publishes a new version.
            "watched_directory": {"path": dir},
        },
        "resource_api_version": "V3",
    })
}

/// Moves clusters and the wasm filter config of `bootstrap` out into resource files under `dir`.
pub fn split(mut bootstrap: Value, dir: &str) -> Result<Split, String> {
    let clusters = bootstrap
        .pointer_mut("/static_resources/clusters")
        .map(Value::take)
        .ok_or("bootstrap has no clusters")?;
    let cds_resources: Vec<Value> = clusters
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let mut c = c.clone();
            if let Some(o) = c.as_object_mut() {
                o.insert(
                    "@type".into(),
                    "type.googleapis.com/envoy.config.cluster.v3.Cluster".into(),
                );
            }
            c
        })
        .collect();
    if let Some(sr) = bootstrap
        .get_mut("static_resources")
        .and_then(Value::as_object_mut)
    {
        sr.remove("clusters");
    }
    bootstrap["dynamic_resources"] = json!({"cds_config": source(dir, CDS_FILE)});
    // Dynamic sources require a node identity.
    bootstrap["node"] = json!({"id": "tollgate", "cluster": "tollgate"});
    let filters = bootstrap
        .pointer_mut(
            "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters",
        )
        .and_then(Value::as_array_mut)
        .ok_or("bootstrap has no http_filters")?;
    let wasm = filters
        .iter_mut()
        .find(|f| f["name"] == "envoy.filters.http.wasm")
        .ok_or("bootstrap has no wasm filter")?;
    let typed = wasm["typed_config"].take();
    *wasm = json!({
        "name": FILTER_NAME,
        "config_discovery": {
            "config_source": source(dir, ECDS_FILE),
            "type_urls": ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"],
        },
    });
    Ok(Split {
        bootstrap,
        cds: json!({"resources": cds_resources}),
        ecds: json!({"resources": [{
            "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            "name": FILTER_NAME,
            "typed_config": typed,
        }]}),
    })
}

/// Writes `text` to `path` through a temporary file and a rename in the same
/// directory, so Envoy's watch never sees a half-written file.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_clusters_and_filter_config() {
        let b = json!({"static_resources": {
            "clusters": [{"name": "c1"}],
            "listeners": [{"filter_chains": [{"filters": [{"typed_config": {"http_filters": [
                {"name": "envoy.filters.http.wasm", "typed_config": {"config": {"name": "tollgate"}}},
                {"name": "envoy.filters.http.router"}
            ]}}]}]}],
        }});
        let s = split(b, "/d").unwrap();
        assert!(s.bootstrap["static_resources"].get("clusters").is_none());
        assert_eq!(
            s.bootstrap["dynamic_resources"]["cds_config"]["path_config_source"]["path"],
            "/d/cds.yaml"
        );
        let f = &s.bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            ["typed_config"]["http_filters"][0];
        assert_eq!(f["name"], "tollgate");
        assert_eq!(
            f["config_discovery"]["config_source"]["path_config_source"]["path"],
            "/d/ecds.yaml"
        );
        assert_eq!(s.cds["resources"][0]["name"], "c1");
        assert_eq!(
            s.ecds["resources"][0]["typed_config"]["config"]["name"],
            "tollgate"
        );
    }
}
