//! Kernels kept warm between notebooks. Once a notebook's cells have run,
//! its kernel starts over in place (`:clear`: no variable, item, dependency
//! or task left, a new cell process and runtime, execution counts from 1)
//! and runs the next notebook of the same folder, sparing it the engine's
//! warm-up. A kernel that was lost, or that fails to start over, is shut
//! down, and the next notebook gets a kernel of its own.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Result};

use super::client::{Ending, Kernel, Launch};

pub struct Pool {
    /// Warm kernels, each with the working directory it was started in
    /// (the cell process it starts over with inherits it).
    idle: Mutex<Vec<(PathBuf, Kernel)>>,
    /// Notebooks not yet given a kernel: a kernel is kept only for them.
    waiting: AtomicUsize,
}

impl Pool {
    /// A pool for `notebooks` notebooks; with one, nothing is kept.
    pub fn new(notebooks: usize) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            waiting: AtomicUsize::new(notebooks),
        }
    }

    /// A warm kernel started in `launch`'s working directory, or a new one.
    pub async fn take(&self, launch: Launch, startup: Duration) -> Result<Kernel> {
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let warm = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.iter()
                .position(|(dir, _)| Some(dir) == launch.workdir.as_ref())
                .map(|found| idle.swap_remove(found).1)
        };
        if let Some(mut kernel) = warm {
            if kernel.is_running() {
                return Ok(kernel);
            }
        }
        Kernel::start(launch, startup).await
    }

    /// Takes back the kernel of a notebook that is done: kept, started over,
    /// while notebooks wait for one, shut down otherwise.
    pub async fn give_back(&self, workdir: PathBuf, mut kernel: Kernel, limit: Duration) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return kernel.shutdown().await;
        }
        match start_over(&mut kernel, limit).await {
            Ok(()) => self
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((workdir, kernel)),
            Err(error) => {
                tracing::debug!("a notebook's kernel is not kept: {error:#}");
                kernel.shutdown().await;
            }
        }
    }

    /// Shuts down the kernels no notebook took.
    pub async fn close(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
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
