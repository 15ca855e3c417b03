//! The genome a SQL session's functions read (`seq()`, `tiles()`,
//! `random_windows()`), loaded the first time one of them runs: a query
//! that needs no bases (the chromatin task, a metric) never holds hg19's
//! 780 MB nor waits for it to load.

use std::sync::{Arc, OnceLock};

use super::Genome;
use crate::store::Store;

/// A genome loaded on first use, shared by the functions of one session.
#[derive(Debug, Clone)]
pub struct SessionGenome(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Option<Store>,
    loaded: OnceLock<Result<Option<Arc<Genome>>, String>>,
}

impl SessionGenome {
    /// The genome of `store`, read when first asked for.
    pub fn lazy(store: &Store) -> SessionGenome {
        SessionGenome(Arc::new(Inner {
            store: Some(store.clone()),
            loaded: OnceLock::new(),
        }))
    }

    /// A genome already in memory, or none.
    pub fn ready(genome: Option<Arc<Genome>>) -> SessionGenome {
        SessionGenome(Arc::new(Inner {
            store: None,
            loaded: OnceLock::from(Ok(genome)),
        }))
    }

    /// The genome (`None` if the store has none), loading it on the first call.
    pub fn get(&self) -> Result<Option<Arc<Genome>>, String> {
        self.0
            .loaded
            .get_or_init(|| match &self.0.store {
                Some(store) => load_on_own_thread(store),
                None => Ok(None),
            })
            .clone()
    }

    pub fn same_as(&self, other: &SessionGenome) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

impl From<Option<Arc<Genome>>> for SessionGenome {
    fn from(genome: Option<Arc<Genome>>) -> Self {
        SessionGenome::ready(genome)
    }
}

/// Functions run inside the session's async runtime, where blocking on
/// Lance's reads could starve it: the load gets a thread and runtime of its own.
fn load_on_own_thread(store: &Store) -> Result<Option<Arc<Genome>>, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // Lance decodes the chunks on the workers while this thread
                // packs them.
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime
                    .block_on(Genome::shared(store))
                    .map_err(|e| e.to_string())
            })
            .join()
            .unwrap_or_else(|_| Err("loading the genome failed".to_string()))
    })
}
