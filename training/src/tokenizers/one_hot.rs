//! One-hot encoding of sequences: the input of the CNN models.

use candle_core::{Device, Result, Tensor};

/// Channel of each base: A, C, G, T; anything else (N) is all zeros, so an
/// unknown base carries no evidence for any letter.
fn channel(b: u8) -> Option<usize> {
    match b {
        b'A' | b'a' => Some(0),
        b'C' | b'c' => Some(1),
        b'G' | b'g' => Some(2),
        b'T' | b't' => Some(3),
        _ => None,
    }
}

/// Encodes equal-length sequences as a `(batch, 4, length)` f32 tensor.
pub fn one_hot(seqs: &[&[u8]], device: &Device) -> Result<Tensor> {
    let (data, length) = one_hot_values(seqs)?;
    Tensor::from_vec(data, (seqs.len(), 4, length), device)
}

/// [`one_hot`] as row-major values and the sequences' length.
pub fn one_hot_values(seqs: &[&[u8]]) -> Result<(Vec<f32>, usize)> {
    let length = seqs.first().map_or(0, |s| s.len());
    if let Some((i, s)) = seqs.iter().enumerate().find(|(_, s)| s.len() != length) {
        candle_core::bail!(
            "one_hot: sequence {i} has length {}, expected {length} like the first",
            s.len()
        );
    }
    let mut data = vec![0f32; seqs.len() * 4 * length];
    for (i, s) in seqs.iter().enumerate() {
        for (j, &b) in s.iter().enumerate() {
            if let Some(c) = channel(b) {
                data[(i * 4 + c) * length + j] = 1.0;
            }
        }
    }
    Ok((data, length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_light_their_channel_and_n_lights_none() {
        let t = one_hot(&[b"ACGTN", b"ttaan"], &Device::Cpu).unwrap();
        assert_eq!(t.dims(), &[2, 4, 5]);
        let v: Vec<Vec<Vec<f32>>> = t.to_vec3().unwrap();
        assert_eq!(v[0][0], vec![1.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(v[0][1], vec![0.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(v[0][2], vec![0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(v[0][3], vec![0.0, 0.0, 0.0, 1.0, 0.0]);
        assert_eq!(v[1][3], vec![1.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(v[1][0], vec![0.0, 0.0, 1.0, 1.0, 0.0]);
        assert!(one_hot(&[b"AC", b"A"], &Device::Cpu).is_err());
    }
}
