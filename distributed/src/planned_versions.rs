//! The table versions a coordinator planned against. They travel with
//! every task as a config extension (gRPC metadata), and a worker opens
//! its session's tables at exactly those versions: a worker whose store
//! has moved on since (a materialize committed meanwhile) still reads the
//! rows the plan was made for.

use std::collections::{BTreeMap, HashMap};

use datafusion::common::extensions_options;
use datafusion::config::ConfigExtension;
use datafusion::error::DataFusionError;

extensions_options! {
    /// `table=version` pairs, comma-separated.
    pub struct PlannedVersions {
        pub tables: String, default = String::new()
    }
}

impl ConfigExtension for PlannedVersions {
    const PREFIX: &'static str = "dnabench";
}

impl PlannedVersions {
    /// The extension carrying `versions`.
    pub fn of(versions: &BTreeMap<String, u64>) -> PlannedVersions {
        let tables = (versions.iter())
            .map(|(name, v)| format!("{name}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        PlannedVersions { tables }
    }

    /// The table versions it carries.
    pub fn versions(&self) -> Result<HashMap<String, u64>, DataFusionError> {
        let mut out = HashMap::new();
        for pair in self.tables.split(',').filter(|p| !p.is_empty()) {
            let parsed = pair
                .split_once('=')
                .and_then(|(name, v)| Some((name, v.parse::<u64>().ok()?)));
            let Some((name, version)) = parsed else {
                return Err(DataFusionError::Plan(format!(
                    "the coordinator's table versions hold '{pair}'; expected TABLE=VERSION"
                )));
            };
            out.insert(name.to_string(), version);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_travel_as_text_and_come_back() {
        let versions = BTreeMap::from([("examples".to_string(), 3), ("genome".to_string(), 1)]);
        let sent = PlannedVersions::of(&versions);
        assert_eq!(sent.tables, "examples=3,genome=1");
        let back = sent.versions().unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back["examples"], 3);
        assert!(PlannedVersions::default().versions().unwrap().is_empty());
        let bad = PlannedVersions {
            tables: "examples=x".into(),
        };
        assert!(bad
            .versions()
            .unwrap_err()
            .to_string()
            .contains("TABLE=VERSION"));
    }
}
