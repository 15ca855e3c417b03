//! The input formats, one module each, as noodles keeps them. Every text
//! format has a reader over any [`std::io::BufRead`] (`new(inner, name)`)
//! and over a file (`open(path)`, plain, gzip, BGZF or zstd told apart by
//! content) that yields typed records with their line numbers, and is an
//! [`Iterator`] of them; an error names the file, the line, the column and
//! what was expected. bigWig is binary and indexed (bigtools seeks in it),
//! so it reads from a path.
//!
//! | module | format | reader | record |
//! | --- | --- | --- | --- |
//! | [`bed`] | BED3–BED12, narrowPeak, broadPeak | [`bed::PeakFileReader`] | [`bed::PeakRecord`] |
//! | [`bedmethyl`] | ENCODE bedMethyl | [`bedmethyl::BedMethylReader`] | [`bedmethyl::MethylationRecord`] |
//! | [`bedgraph`] | bedGraph | [`bedgraph::BedGraphReader`] | [`bedgraph::SignalRecord`] |
//! | [`bigwig`] | bigWig (bigtools) | [`bigwig::BigWigReader`] | [`bedgraph::SignalRecord`] |
//! | [`vcf`] | VCF (noodles), the SNP list of `data/` | [`vcf::VcfReader`], [`vcf::SnpListReader`] | [`vcf::VariantRecord`] |
//! | [`gff`] | GTF, GFF3 (noodles) | [`gff::GtfReader`], [`gff::Gff3Reader`] | [`gff::GeneRecord`] |
//! | [`fasta`] | FASTA (noodles) | [`fasta::FastaReader`] | [`fasta::SequenceChunk`] |
//! | [`example_json`] | examples as the benchmark paper ships them (JSON lines) | [`example_json::ExampleJsonReader`] | [`example_json::ExampleRecord`] |
//!
//! [`lines`] is the plumbing they share: opening and decompressing, line
//! numbers, and fields with typed errors.

/// Makes a reader with `read_record() -> Result<Option<(u64, Record)>>` an
/// [`Iterator`] of its records.
macro_rules! records_iterator {
    ($reader:ident<R>, $record:ty) => {
        impl<R: std::io::BufRead> Iterator for $reader<R> {
            type Item = $crate::error::Result<(u64, $record)>;

            fn next(&mut self) -> Option<Self::Item> {
                self.read_record().transpose()
            }
        }
    };
    ($reader:ident, $record:ty) => {
        impl Iterator for $reader {
            type Item = $crate::error::Result<(u64, $record)>;

            fn next(&mut self) -> Option<Self::Item> {
                self.read_record().transpose()
            }
        }
    };
}

pub mod bed;
pub mod bedgraph;
pub mod bedmethyl;
pub mod bigwig;
pub mod example_json;
pub mod fasta;
pub mod gff;
pub mod lines;
pub mod vcf;
