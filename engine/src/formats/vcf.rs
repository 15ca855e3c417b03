//! VCF (via noodles) and the plain SNP list of `data/`: readers that yield
//! one typed record per allele, 0-based.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use noodles::vcf::variant::record::{AlternateBases, Ids};

use crate::error::{Error, Location, Result};
use crate::formats::lines::{Compression, Fields, InputFile, LineCounter, LineReader};

/// One allele of a variant; `pos` is 0-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantRecord {
    pub variant_id: String,
    pub name: Option<String>,
    pub chrom: String,
    pub pos: i64,
    pub reference: String,
    pub alt: String,
}

impl VariantRecord {
    pub fn new(
        name: Option<String>,
        chrom: String,
        pos: i64,
        reference: String,
        alt: String,
    ) -> Self {
        VariantRecord {
            variant_id: format!("{chrom}_{}_{reference}_{alt}", pos + 1),
            name,
            chrom,
            pos,
            reference,
            alt,
        }
    }
}

fn is_bases(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b"ACGTNacgtn".contains(&b))
}

/// Reads a VCF record by record: a multi-allelic record is split into one
/// record per ALT; symbolic (`<DEL>`), breakend and missing (`.`) ALTs are
/// skipped and counted ([`VcfReader::skipped`]).
pub struct VcfReader<R = Box<dyn BufRead + Send>> {
    path: PathBuf,
    compression: Compression,
    inner: noodles::vcf::io::Reader<LineCounter<R>>,
    record: noodles::vcf::Record,
    /// Alleles of the last record not yet handed out, in reverse order.
    pending: Vec<(u64, VariantRecord)>,
    skipped: u64,
}

impl VcfReader {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self> {
        let input = InputFile::open(path)?;
        VcfReader::from_lines(input)
    }
}

impl<R: BufRead> VcfReader<R> {
    /// Records of `inner`, which errors call `name`; reads the header.
    pub fn new(inner: R, name: impl Into<PathBuf>) -> Result<Self> {
        VcfReader::from_lines(LineReader::new(inner, name))
    }

    fn from_lines(input: LineReader<R>) -> Result<Self> {
        let mut inner = noodles::vcf::io::Reader::new(input.reader);
        inner.read_header().map_err(|e| {
            Error::parse(
                Location::file(&input.path),
                format!(
                    "malformed VCF header: {e} (expected ##fileformat=VCFv4.x and a #CHROM line)"
                ),
            )
        })?;
        Ok(VcfReader {
            path: input.path,
            compression: input.compression,
            inner,
            record: noodles::vcf::Record::default(),
            pending: Vec::new(),
            skipped: 0,
        })
    }

    /// ALT alleles skipped so far (symbolic, breakends, `.`).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The next allele and the line of its record, or `None` at the end.
    pub fn read_record(&mut self) -> Result<Option<(u64, VariantRecord)>> {
        loop {
            if let Some(next) = self.pending.pop() {
                return Ok(Some(next));
            }
            let number = self.inner.get_ref().line();
            match self.inner.read_record(&mut self.record) {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(e) => {
                    let message = match self.compression {
                        Compression::None => format!("malformed VCF record: {e}"),
                        c => format!("malformed VCF record or {c} stream truncated: {e}"),
                    };
                    return Err(Error::parse(Location::line(&self.path, number), message));
                }
            }
            self.split_alleles(number)?;
        }
    }

    /// Queues the alleles of the record just read.
    fn split_alleles(&mut self, number: u64) -> Result<()> {
        let record = &self.record;
        let bad = |message: String| Error::parse(Location::line(&self.path, number), message);
        let pos = match record.variant_start() {
            Some(Ok(p)) => p.get() as i64 - 1,
            Some(Err(e)) => {
                return Err(bad(format!(
                    "column 2 (POS): {e}, expected a 1-based position"
                )))
            }
            None => return Err(bad("column 2 (POS) is missing".into())),
        };
        let reference = record.reference_bases().to_ascii_uppercase();
        if !is_bases(&reference) {
            return Err(bad(format!(
                "column 4 (REF): '{reference}' is not a base sequence"
            )));
        }
        let name = record.ids().iter().next().map(str::to_string);
        let chrom = record.reference_sequence_name().to_string();
        let alts = record
            .alternate_bases()
            .iter()
            .map(|alt| alt.map(str::to_string))
            .collect::<std::io::Result<Vec<String>>>()
            .map_err(|e| bad(format!("column 5 (ALT): {e}")))?;
        if alts.is_empty() {
            // ALT '.': a site with no alternative allele.
            self.skipped += 1;
        }
        for alt in alts.into_iter().rev() {
            if !is_bases(&alt) {
                self.skipped += 1;
                continue;
            }
            self.pending.push((
                number,
                VariantRecord::new(
                    name.clone(),
                    chrom.clone(),
                    pos,
                    reference.clone(),
                    alt.to_ascii_uppercase(),
                ),
            ));
        }
        Ok(())
    }
}

records_iterator!(VcfReader<R>, VariantRecord);

const SNP_COLUMNS: [&str; 5] = ["id", "type", "contig", "offset", "alt"];

/// Reads the SNP list layout of `data/` (HISAT2's): id, type, contig,
/// 0-based offset, and the alternative base (`single`), the deleted length
/// (`deletion`) or the inserted bases (`insertion`, before the offset).
/// Indels become VCF-style alleles anchored on the preceding base. The
/// reference bases are not in the file: the caller's `reference(contig,
/// start, end)` supplies them from the genome.
pub struct SnpListReader<R = Box<dyn BufRead + Send>> {
    input: LineReader<R>,
    buf: Vec<u8>,
}

/// Reference bases of `[start, end)` on a contig, `None` where the genome has none.
pub type ReferenceBases<'a> = &'a dyn Fn(&str, i64, i64) -> Option<String>;

impl SnpListReader {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(SnpListReader {
            input: InputFile::open(path)?,
            buf: Vec::new(),
        })
    }
}

impl<R: BufRead> SnpListReader<R> {
    /// Records of `inner`, which errors call `name`.
    pub fn new(inner: R, name: impl Into<PathBuf>) -> Self {
        SnpListReader {
            input: LineReader::new(inner, name),
            buf: Vec::new(),
        }
    }

    /// The next variant and its line, or `None` at the end.
    pub fn read_record(
        &mut self,
        reference: ReferenceBases<'_>,
    ) -> Result<Option<(u64, VariantRecord)>> {
        loop {
            let Some((number, line)) = self.input.read_line(&mut self.buf)? else {
                return Ok(None);
            };
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f = Fields::split(line, &self.input.path, number, &SNP_COLUMNS);
            if f.len() != 5 {
                return Err(f.error(format!(
                    "{} tab-separated columns, expected 5 (id, type, contig, offset, alt)",
                    f.len()
                )));
            }
            let chrom = f.required(2)?;
            let offset = f.coordinate(3)?;
            let bases = |start: i64, end: i64| {
                reference(chrom, start, end).ok_or_else(|| {
                    f.error(format!(
                        "no reference bases for {chrom}:{start}-{end}: the SNP list carries none, so the store's genome must hold the contig (ingest the genome first)"
                    ))
                })
            };
            let last = f.required(4)?.to_ascii_uppercase();
            let (pos, reference_bases, alt) = match f.required(1)? {
                "single" => {
                    if last.len() != 1 || !is_bases(&last) {
                        return Err(f.error(format!("column 5 (alt): '{last}', expected one base")));
                    }
                    (offset, bases(offset, offset + 1)?, last)
                }
                "deletion" | "insertion" if offset == 0 => {
                    return Err(f.error("an indel at offset 0 has no preceding base to anchor it"));
                }
                "deletion" => {
                    let length = f.coordinate(4)?;
                    if length == 0 {
                        return Err(f.error("column 5 (length): a deletion of 0 bases"));
                    }
                    let r = bases(offset - 1, offset + length)?;
                    let anchor = r[..1].to_string();
                    (offset - 1, r, anchor)
                }
                "insertion" => {
                    if !is_bases(&last) {
                        return Err(f.error(format!(
                            "column 5 (inserted bases): '{last}' is not a base sequence"
                        )));
                    }
                    let anchor = bases(offset - 1, offset)?;
                    let alt = format!("{anchor}{last}");
                    (offset - 1, anchor, alt)
                }
                other => {
                    return Err(f.error(format!(
                        "column 2 (type): '{other}', expected single, deletion or insertion"
                    )))
                }
            };
            return Ok(Some((
                number,
                VariantRecord::new(
                    Some(f.required(0)?.to_string()),
                    chrom.to_string(),
                    pos,
                    reference_bases,
                    alt,
                ),
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_vcf_splits_alleles_and_converts_to_0_based() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/variants/1000genomes-example.vcf");
        let mut reader = VcfReader::open(&path).unwrap();
        let rows: Vec<(u64, VariantRecord)> = reader.by_ref().collect::<Result<_>>().unwrap();
        let skipped = reader.skipped();
        let alleles: Vec<String> = rows.iter().map(|(_, v)| v.variant_id.clone()).collect();
        assert!(alleles.contains(&"20_14370_G_A".to_string()), "{alleles:?}");
        assert!(alleles.contains(&"20_1110696_A_G".to_string()));
        assert!(alleles.contains(&"20_1110696_A_T".to_string()));
        let first = &rows[0].1;
        assert_eq!(
            (first.pos, first.name.as_deref()),
            (14369, Some("rs6054257"))
        );
        // 1230237 T . is a monomorphic site: no ALT allele.
        assert!(skipped >= 1);
    }

    fn read_snp_list(
        path: &Path,
        reference: ReferenceBases<'_>,
    ) -> Result<Vec<(u64, VariantRecord)>> {
        let mut reader = SnpListReader::open(path)?;
        std::iter::from_fn(|| reader.read_record(reference).transpose()).collect()
    }

    #[test]
    fn a_vcf_streams_from_any_buffered_reader() {
        let text = b"##fileformat=VCFv4.3\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t10\t.\tA\tC,<DEL>,G\t.\t.\t.\n";
        let mut reader = VcfReader::new(&text[..], "<memory>").unwrap();
        let ids: Vec<String> = reader
            .by_ref()
            .map(|r| r.map(|(_, v)| v.variant_id))
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(ids, ["chr1_10_A_C", "chr1_10_A_G"]);
        assert_eq!(reader.skipped(), 1);
        let bad = b"##fileformat=VCFv4.3\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t10\t.\tZ\tC\t.\t.\t.\n";
        let e = VcfReader::new(&bad[..], "mem.vcf")
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(e.contains("mem.vcf:3: column 4 (REF)"), "{e}");
    }

    #[test]
    fn snp_lists_take_their_reference_from_the_genome() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.snp");
        std::fs::write(&p, "rs1\tsingle\tchrA\t2\tT\nrs2\tsingle\tchrA\tfour\tG\n").unwrap();
        let genome = |c: &str, s: i64, e: i64| {
            (c == "chrA").then(|| "ACGTACGT"[s as usize..e as usize].to_string())
        };
        let e = read_snp_list(&p, &genome).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "x.snp:2: column 4 (offset): expected a non-negative integer, found 'four'"
            ),
            "{e}"
        );
        std::fs::write(
            &p,
            "rs1\tsingle\tchrA\t2\tT\nrs2\tdeletion\tchrA\t3\t2\nrs3\tinsertion\tchrA\t5\tGG\n",
        )
        .unwrap();
        let rows = read_snp_list(&p, &genome).unwrap();
        let ids: Vec<&str> = rows.iter().map(|(_, v)| v.variant_id.as_str()).collect();
        assert_eq!(ids, vec!["chrA_3_G_T", "chrA_3_GTA_G", "chrA_5_A_AGG"]);
    }
}
