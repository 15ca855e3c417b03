//! One chromosome in 2 bits a base plus its runs of `N`: hg19's 3.1 Gb fit
//! in 780 MB, where a byte a base would take 3.1 GB.

/// Bases of one chromosome, `ACGT` packed four to a byte (first base in the
/// low bits), and every other position listed as a run of `N`.
#[derive(Debug, Clone, Default)]
pub struct PackedSeq {
    len: u64,
    packed: Vec<u8>,
    /// Sorted, disjoint, non-adjacent `[start, end)` runs of `N`.
    n_runs: Vec<(u64, u64)>,
}

/// A, C, G, T as 0 to 3; anything else 4 (an N, kept as a run).
use super::encode::BASE_CODE as CODE;

/// The four bases of each packed byte.
const DECODE: [[u8; 4]; 256] = {
    let letters = *b"ACGT";
    let mut t = [[0u8; 4]; 256];
    let mut i = 0;
    while i < 256 {
        let mut j = 0;
        while j < 4 {
            t[i][j] = letters[(i >> (2 * j)) & 3];
            j += 1;
        }
        i += 1;
    }
    t
};

impl PackedSeq {
    /// A chromosome of `len` bases, all `N` until written.
    pub fn new(len: u64) -> PackedSeq {
        PackedSeq {
            len,
            packed: vec![0; len.div_ceil(4) as usize],
            n_runs: if len > 0 { vec![(0, len)] } else { vec![] },
        }
    }

    /// Packs `bases`; anything but `ACGT` (either case) is stored as `N`.
    pub fn from_bases(bases: &[u8]) -> PackedSeq {
        let mut seq = PackedSeq::new(bases.len() as u64);
        seq.write(0, bases);
        seq
    }

    /// A sequence from its stored parts, or `None` unless they fit together:
    /// a quarter byte a base, and runs sorted, disjoint, non-adjacent and
    /// inside the sequence.
    pub(super) fn from_parts(len: u64, packed: Vec<u8>, n_runs: Vec<(u64, u64)>) -> Option<Self> {
        let runs_fit = n_runs.iter().all(|&(s, e)| s < e && e <= len)
            && n_runs.windows(2).all(|w| w[0].1 < w[1].0);
        (packed.len() as u64 == len.div_ceil(4) && runs_fit).then_some(PackedSeq {
            len,
            packed,
            n_runs,
        })
    }

    /// The packed bytes and the runs of `N`, as [`PackedSeq::from_parts`] takes them.
    pub(super) fn parts(&self) -> (&[u8], &[(u64, u64)]) {
        (&self.packed, &self.n_runs)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held, packed bases and runs together.
    pub fn heap_bytes(&self) -> usize {
        self.packed.capacity() + self.n_runs.capacity() * 16
    }

    /// Overwrites `[at, at + bases.len())`; the caller keeps it inside the chromosome.
    pub fn write(&mut self, at: u64, bases: &[u8]) {
        debug_assert!(at + bases.len() as u64 <= self.len);
        // Whole bytes are packed four bases at a time (a genome load packs
        // 3 Gb); only the bases before the first and after the last whole
        // byte are set one by one. N packs as 0 and is kept as a run.
        let head = (((4 - at % 4) % 4) as usize).min(bases.len());
        let body = (bases.len() - head) / 4 * 4;
        // Every code OR-ed together: bit 2 is set when some base is N.
        let mut any = 0u8;
        for (i, &b) in bases[..head].iter().enumerate() {
            any |= CODE[b as usize];
            self.set_bits(at + i as u64, CODE[b as usize] & 3);
        }
        let first_byte = ((at + head as u64) / 4) as usize;
        let bytes = &mut self.packed[first_byte..first_byte + body / 4];
        for (byte, four) in bytes
            .iter_mut()
            .zip(bases[head..head + body].chunks_exact(4))
        {
            let c = [0, 1, 2, 3].map(|k| CODE[four[k] as usize]);
            any |= c[0] | c[1] | c[2] | c[3];
            *byte = (c[0] & 3) | (c[1] & 3) << 2 | (c[2] & 3) << 4 | (c[3] & 3) << 6;
        }
        for (i, &b) in bases[head + body..].iter().enumerate() {
            any |= CODE[b as usize];
            self.set_bits(at + (head + body + i) as u64, CODE[b as usize] & 3);
        }
        if any & 4 == 0 {
            self.set_runs(at, at + bases.len() as u64, Vec::new());
            return;
        }
        let mut runs = Vec::new();
        let mut run_start: Option<u64> = None;
        for (i, &b) in bases.iter().enumerate() {
            match (CODE[b as usize] == 4, run_start) {
                (true, None) => run_start = Some(at + i as u64),
                (false, Some(s)) => {
                    runs.push((s, at + i as u64));
                    run_start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = run_start {
            runs.push((s, at + bases.len() as u64));
        }
        self.set_runs(at, at + bases.len() as u64, runs);
    }

    fn set_bits(&mut self, pos: u64, bits: u8) {
        let (byte, shift) = ((pos / 4) as usize, 2 * (pos % 4) as u32);
        self.packed[byte] = (self.packed[byte] & !(3 << shift)) | (bits << shift);
    }

    /// Replaces the runs inside `[from, to)` with `runs` (sorted, inside it).
    fn set_runs(&mut self, from: u64, to: u64, runs: Vec<(u64, u64)>) {
        let mut out = Vec::with_capacity(self.n_runs.len() + runs.len() + 1);
        for &(s, e) in &self.n_runs {
            if e <= from || s >= to {
                out.push((s, e));
                continue;
            }
            // The parts of an old run outside the written range survive.
            if s < from {
                out.push((s, from));
            }
            if e > to {
                out.push((to, e));
            }
        }
        out.extend(runs);
        out.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(out.len());
        for (s, e) in out {
            match merged.last_mut() {
                Some(last) if last.1 >= s => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.n_runs = merged;
    }

    /// The runs of `N` overlapping `[start, end)`.
    pub fn n_runs_in(&self, start: u64, end: u64) -> &[(u64, u64)] {
        let first = self.n_runs.partition_point(|&(_, e)| e <= start);
        let last = self.n_runs.partition_point(|&(s, _)| s < end);
        &self.n_runs[first..last.max(first)]
    }

    /// `N` bases in `[start, end)`.
    pub fn n_count(&self, start: u64, end: u64) -> u64 {
        self.n_runs_in(start, end)
            .iter()
            .map(|&(s, e)| e.min(end) - s.max(start))
            .sum()
    }

    /// Appends the bases of `[start, end)` (inside the chromosome) to `out`.
    pub fn extend_into(&self, start: u64, end: u64, out: &mut Vec<u8>) {
        let end = end.min(self.len);
        if start >= end {
            return;
        }
        let from = out.len();
        out.reserve((end - start) as usize);
        let mut pos = start;
        while pos < end && !pos.is_multiple_of(4) {
            out.push(DECODE[self.packed[(pos / 4) as usize] as usize][(pos % 4) as usize]);
            pos += 1;
        }
        let whole = (end - pos) / 4;
        let first = (pos / 4) as usize;
        for &byte in &self.packed[first..first + whole as usize] {
            out.extend_from_slice(&DECODE[byte as usize]);
        }
        pos += whole * 4;
        while pos < end {
            out.push(DECODE[self.packed[(pos / 4) as usize] as usize][(pos % 4) as usize]);
            pos += 1;
        }
        for &(s, e) in self.n_runs_in(start, end) {
            let (s, e) = (s.max(start) - start, e.min(end) - start);
            out[from + s as usize..from + e as usize].fill(b'N');
        }
    }

    /// Every base, unpacked.
    pub fn to_bases(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len as usize);
        self.extend_into(0, self.len, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(seq: &PackedSeq, s: u64, e: u64) -> String {
        let mut out = Vec::new();
        seq.extend_into(s, e, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_window_of_a_sequence_with_n_runs_reads_back() {
        let text = b"NNACGTTGCANNNNAGCTTTNACGGGCATNN";
        let seq = PackedSeq::from_bases(text);
        assert_eq!(seq.to_bases(), text);
        for s in 0..text.len() {
            for e in s..=text.len() {
                assert_eq!(
                    slice(&seq, s as u64, e as u64).as_bytes(),
                    &text[s..e],
                    "{s}..{e}"
                );
                let ns = text[s..e].iter().filter(|&&b| b == b'N').count() as u64;
                assert_eq!(seq.n_count(s as u64, e as u64), ns, "{s}..{e}");
            }
        }
    }

    #[test]
    fn writes_in_pieces_at_any_offset_give_the_same_sequence() {
        let text: Vec<u8> = (0..203)
            .map(|i: u64| b"ACGTN"[((i * 7 + i / 13) % 5) as usize])
            .collect();
        let mut seq = PackedSeq::new(text.len() as u64 + 5);
        let mut at = 0;
        for width in [1, 3, 4, 9, 17, 64].iter().cycle() {
            if at >= text.len() {
                break;
            }
            let end = (at + width).min(text.len());
            seq.write(at as u64, &text[at..end]);
            at = end;
        }
        let mut want = text.clone();
        want.extend_from_slice(b"NNNNN");
        assert_eq!(seq.to_bases(), want);
        // A rewrite in the middle replaces bases and runs alike.
        seq.write(10, b"NNNNAAAA");
        want[10..18].copy_from_slice(b"NNNNAAAA");
        assert_eq!(seq.to_bases(), want);
        assert_eq!(
            seq.n_count(0, want.len() as u64),
            want.iter().filter(|&&b| b == b'N').count() as u64
        );
    }

    #[test]
    fn a_quarter_byte_a_base() {
        let seq = PackedSeq::from_bases(&vec![b'A'; 4_000_000]);
        assert!(seq.heap_bytes() <= 1_000_100, "{}", seq.heap_bytes());
    }
}
