//! Scalar functions, one file each: [`seq`] reads the genome; [`revcomp`],
//! [`gc_content`] and [`mutate`] work on sequences; [`hash_uniform`] is the
//! seeded draw behind every split; [`overlap_len`] measures intervals;
//! [`methylation_levels`] turns read counts into methylated fractions.

pub mod gc_content;
pub mod hash_uniform;
pub mod methylation_levels;
pub mod mutate;
pub mod overlap_len;
pub mod revcomp;
pub mod seq;

use datafusion::logical_expr::{DocSection, ScalarUDF};

use crate::genome::SessionGenome;

pub(crate) const SCALAR: DocSection = DocSection {
    include: true,
    label: "dnabench scalar functions",
    description: None,
};

/// Every scalar function; `genome` serves `seq()`.
pub fn all(genome: &SessionGenome) -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(seq::SeqFunction::new(genome.clone())),
        ScalarUDF::from(revcomp::RevcompFunction::new()),
        ScalarUDF::from(gc_content::GcContentFunction::new()),
        ScalarUDF::from(mutate::MutateFunction::new()),
        ScalarUDF::from(hash_uniform::HashUniformFunction::new()),
        ScalarUDF::from(overlap_len::OverlapLenFunction::new()),
        ScalarUDF::from(methylation_levels::MethylationLevelsFunction::new()),
    ]
}
