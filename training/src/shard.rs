//! A process's part of a split in data-parallel training.

use dnabench_engine::hash::hash_uniform;
use dnabench_engine::{Error, Result};

/// One of `world_size` disjoint parts of a split that together cover it:
/// an example is in shard `floor(hash_uniform(example_id, seed) ×
/// world_size)`, the rule SQL's `hash_uniform` gives, so the parts are
/// fixed by the seed and any process (or query) finds the same ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub rank: usize,
    pub world_size: usize,
}

impl Shard {
    pub fn new(rank: usize, world_size: usize) -> Result<Shard> {
        if world_size == 0 || rank >= world_size {
            return Err(Error::Invalid(format!(
                "shard rank {rank} of world size {world_size}: the rank must be below the world size"
            )));
        }
        Ok(Shard { rank, world_size })
    }

    /// Whether `example_id` is in this shard under `seed`.
    pub fn holds(&self, example_id: &str, seed: u64) -> bool {
        let u = hash_uniform(example_id.as_bytes(), seed as i64);
        ((u * self.world_size as f64) as usize).min(self.world_size - 1) == self.rank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_cover_the_split_and_refuse_a_rank_past_the_world() {
        let shards: Vec<Shard> = (0..3).map(|r| Shard::new(r, 3).unwrap()).collect();
        let mut sizes = [0usize; 3];
        for i in 0..3000 {
            let id = format!("chr1:{}", i * 200);
            let holders: Vec<usize> = (0..3).filter(|&r| shards[r].holds(&id, 7)).collect();
            assert_eq!(holders.len(), 1, "{id} is in exactly one shard");
            sizes[holders[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| n > 900), "{sizes:?}");
        assert!(Shard::new(3, 3).is_err());
        assert!(Shard::new(0, 0).is_err());
    }
}
