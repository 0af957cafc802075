//! Kernels kept warm between notebooks. Once a notebook's cells have run,
//! its kernel starts over in place (`:clear`: no variable, item, dependency
//! or task left, a new cell process and runtime, execution counts from 1)
//! and runs the next notebook of the same folder, sparing it the engine's
//! warm-up. A kernel is kept only while a notebook of its folder waits for
//! one, so a run over many folders holds no more kernels than it runs at
//! once. A kernel that was lost, or that fails to start over, is shut down,
//! and the next notebook gets a kernel of its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Result};

use super::client::{Ending, Kernel, Launch};
use crate::lock::lock;

pub struct Pool {
    /// Warm kernels, each with the working directory it was started in
    /// (the cell process it starts over with inherits it).
    idle: Mutex<Vec<(PathBuf, Kernel)>>,
    /// Per folder, its notebooks not yet given a kernel.
    waiting: Mutex<HashMap<PathBuf, usize>>,
}

impl Pool {
    /// A pool for notebooks to run in these folders, one entry per notebook.
    pub fn new(folders: impl IntoIterator<Item = PathBuf>) -> Pool {
        let mut waiting = HashMap::new();
        for folder in folders {
            *waiting.entry(folder).or_insert(0) += 1;
        }
        Pool {
            idle: Mutex::new(Vec::new()),
            waiting: Mutex::new(waiting),
        }
    }

    /// A warm kernel of the folder `launch` starts kernels in, or a new one
    /// started by `launch`.
    pub async fn take(&self, launch: Launch, startup: Duration) -> Result<Kernel> {
        if let Some(workdir) = &launch.workdir {
            if let Some(mut kernel) = self.claim(workdir) {
                if kernel.is_running() {
                    return Ok(kernel);
                }
            }
        }
        Kernel::start(launch, startup).await
    }

    /// Counts a notebook of `workdir` as served, and hands it a kept
    /// kernel of that folder if there is one.
    fn claim(&self, workdir: &Path) -> Option<Kernel> {
        if let Some(count) = lock(&self.waiting).get_mut(workdir) {
            *count = count.saturating_sub(1);
        }
        let mut idle = lock(&self.idle);
        let found = idle.iter().position(|(dir, _)| dir == workdir)?;
        Some(idle.swap_remove(found).1)
    }

    /// Whether a kernel of `workdir` is wanted: a notebook of the folder
    /// waits, and no kept kernel is there for it.
    fn wants(&self, workdir: &Path) -> bool {
        let waiting = lock(&self.waiting).get(workdir).copied().unwrap_or(0);
        let kept = lock(&self.idle)
            .iter()
            .filter(|(dir, _)| dir == workdir)
            .count();
        waiting > kept
    }

    /// Takes back the kernel of a notebook that is done: started over and
    /// kept if [`Pool::wants`] it, shut down otherwise.
    pub async fn give_back(&self, workdir: PathBuf, mut kernel: Kernel, limit: Duration) {
        if !self.wants(&workdir) {
            return kernel.shutdown().await;
        }
        match start_over(&mut kernel, limit).await {
            Ok(()) => lock(&self.idle).push((workdir, kernel)),
            Err(error) => {
                tracing::debug!("a notebook's kernel is not kept: {error:#}");
                kernel.shutdown().await;
            }
        }
    }

    /// Shuts down the kernels no notebook took.
    pub async fn close(&self) {
        let idle = std::mem::take(&mut *lock(&self.idle));
        for (_, kernel) in idle {
            kernel.shutdown().await;
        }
    }
}

async fn start_over(kernel: &mut Kernel, limit: Duration) -> Result<()> {
    let run = kernel.execute(":clear", limit).await?;
    match run.ending {
        Ending::Finished if !run.errored => Ok(()),
        Ending::Finished => bail!("`:clear` failed"),
        Ending::TimedOut => bail!("`:clear` timed out"),
        Ending::Lost(why) => bail!("{why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kernel_is_wanted_only_for_a_notebook_of_its_folder_still_to_come() {
        let (a, b, c) = (PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c"));
        let pool = Pool::new([a.clone(), b.clone(), a.clone()]);
        assert!(pool.claim(&a).is_none(), "nothing is kept yet");
        assert!(pool.wants(&a), "the second notebook of `a` is to come");
        assert!(pool.wants(&b));
        assert!(!pool.wants(&c), "no notebook of `c`");
        assert!(pool.claim(&b).is_none());
        assert!(!pool.wants(&b), "`b` had one notebook");
        assert!(pool.claim(&a).is_none());
        assert!(!pool.wants(&a), "every notebook of `a` has a kernel");
    }
}
