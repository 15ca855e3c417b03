//! Dataset variants that any task can be materialized through: queries
//! over what is already materialized or over files of examples made
//! elsewhere, bundled like the tasks' own (`queries/variants/NAME.sql`).

/// A bundled variant query.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every bundled variant.
pub const VARIANTS: &[Variant] = &[
    Variant {
        name: "train_subset",
        sql: include_str!("../variants/train_subset.sql"),
    },
    Variant {
        name: "chrom_split",
        sql: include_str!("../variants/chrom_split.sql"),
    },
    Variant {
        name: "example_files",
        sql: include_str!("../variants/example_files.sql"),
    },
];

impl Variant {
    pub fn named(name: &str) -> Option<&'static Variant> {
        VARIANTS.iter().find(|v| v.name == name)
    }

    /// Where its text came from, as errors name it.
    pub fn origin(&self) -> String {
        format!("queries/variants/{}.sql", self.name)
    }
}
