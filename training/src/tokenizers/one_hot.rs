//! One-hot encoding of sequences: the input of the CNN models. A, C, G, T
//! light channels 0 to 3; anything else (N) is all zeros, so an unknown base
//! carries no evidence for any letter.

use candle_core::{Device, Result, Tensor};
use dnabench_engine::genome::encode::one_hot_into;

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
    if length > 0 {
        for (s, rows) in seqs.iter().zip(data.chunks_exact_mut(4 * length)) {
            one_hot_into(s, rows);
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
