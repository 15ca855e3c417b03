//! Sequences as the numbers a model reads: base codes and one-hot rows.
//!
//! These are per-base loops over every window a loader hands out, so they
//! live here, in the crate built at full optimization, written branch-free
//! so each row is one pass the compiler can vectorize.

/// A, C, G, T (either case) as 0 to 3, anything else 4.
pub const BASE_CODE: [u8; 256] = {
    let mut table = [4u8; 256];
    table[b'A' as usize] = 0;
    table[b'a' as usize] = 0;
    table[b'C' as usize] = 1;
    table[b'c' as usize] = 1;
    table[b'G' as usize] = 2;
    table[b'g' as usize] = 2;
    table[b'T' as usize] = 3;
    table[b't' as usize] = 3;
    table
};

/// Writes the base code of each of `seq`'s bases to `out` (as long as `seq`).
pub fn base_codes_into(seq: &[u8], out: &mut [u8]) {
    assert_eq!(seq.len(), out.len(), "one code a base");
    for (o, &b) in out.iter_mut().zip(seq) {
        *o = BASE_CODE[b as usize];
    }
}

/// Writes `seq` one-hot, channel-major, to `out` (4 × its length): row `c`
/// holds 1.0 where the base's code is `c`, so A, C, G, T light rows 0 to 3
/// and anything else (N) lights none. Every value of `out` is written.
pub fn one_hot_into(seq: &[u8], out: &mut [f32]) {
    let length = seq.len();
    assert_eq!(out.len(), 4 * length, "four channels a base");
    let (a, rest) = out.split_at_mut(length);
    let (c, rest) = rest.split_at_mut(length);
    let (g, t) = rest.split_at_mut(length);
    let rows = a
        .iter_mut()
        .zip(c.iter_mut())
        .zip(g.iter_mut())
        .zip(t.iter_mut());
    for ((((a, c), g), t), &b) in rows.zip(seq) {
        let code = BASE_CODE[b as usize];
        *a = f32::from(u8::from(code == 0));
        *c = f32::from(u8::from(code == 1));
        *g = f32::from(u8::from(code == 2));
        *t = f32::from(u8::from(code == 3));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_base_lights_its_channel_and_n_lights_none() {
        let seq = b"ACGTNacgtx";
        let mut out = vec![f32::NAN; 40];
        one_hot_into(seq, &mut out);
        let rows: Vec<&[f32]> = out.chunks(10).collect();
        assert_eq!(rows[0], [1., 0., 0., 0., 0., 1., 0., 0., 0., 0.]);
        assert_eq!(rows[1], [0., 1., 0., 0., 0., 0., 1., 0., 0., 0.]);
        assert_eq!(rows[2], [0., 0., 1., 0., 0., 0., 0., 1., 0., 0.]);
        assert_eq!(rows[3], [0., 0., 0., 1., 0., 0., 0., 0., 1., 0.]);
        let mut codes = vec![9u8; 10];
        base_codes_into(seq, &mut codes);
        assert_eq!(codes, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    }
}
