//! Sessions: one private folder per upload, under one private temporary folder of the server.
//!
//! A session's id is 128 random bits (it is the only key to its files); its folder holds `in/`
//! (the uploads, under generated names) and `out/` (what the check wrote). Sessions older than
//! [`crate::Limits::session_ttl`] are removed when the next one starts, the oldest when there are
//! more than [`crate::Limits::sessions`], and all of them when the server stops.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::check::Checked;
use crate::Limits;

/// All sessions.
#[derive(Debug)]
pub struct Sessions {
    root: tempfile::TempDir,
    all: Mutex<HashMap<String, Arc<Session>>>,
    limits: Limits,
}

/// One upload and what became of it.
#[derive(Debug)]
pub struct Session {
    /// 32 hex digits.
    pub id: String,
    /// Its private folder.
    pub dir: PathBuf,
    created: Instant,
    /// Where the check is.
    pub job: Mutex<Job>,
}

/// A check's state.
#[derive(Debug, Clone)]
pub enum Job {
    /// Running: the stage it is in.
    Running(Arc<Stage>),
    /// Done.
    Done(Arc<Checked>),
    /// It could not run (a clear message, both languages).
    Failed(String),
}

/// Progress of a blocking job, read by the status page.
#[derive(Debug, Default)]
pub struct Stage {
    name: Mutex<String>,
    done: AtomicU64,
    total: AtomicU64,
}

impl Stage {
    /// `(stage name, steps done, steps in all)`.
    pub fn read(&self) -> (String, u64, u64) {
        (
            lock(&self.name).clone(),
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

impl riskcensus_pipeline::Progress for Stage {
    fn start(&self, stage: &str, total: u64) {
        *lock(&self.name) = stage.to_string();
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }
    fn advance(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
    fn finish(&self) {}
}

/// Lock, going on after a panic elsewhere (the data is replaced whole, never half-written).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sessions {
    /// Make the private folder (mode 0700 on Unix).
    pub fn new(limits: Limits) -> std::io::Result<Self> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("riskcensus-serve-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let root = builder.tempdir()?;
        Ok(Self {
            root,
            all: Mutex::new(HashMap::new()),
            limits,
        })
    }

    /// The private folder.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A new session with its folders; expired and surplus sessions go first.
    pub fn create(&self) -> std::io::Result<Arc<Session>> {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let dir = self.root.path().join(&id);
        std::fs::create_dir(&dir)?;
        std::fs::create_dir(dir.join("in"))?;
        std::fs::create_dir(dir.join("out"))?;
        let session = Arc::new(Session {
            id: id.clone(),
            dir,
            created: Instant::now(),
            job: Mutex::new(Job::Running(Arc::default())),
        });
        let mut all = lock(&self.all);
        let ttl = self.limits.session_ttl;
        let expired: Vec<String> = all
            .values()
            .filter(|s| s.created.elapsed() > ttl)
            .map(|s| s.id.clone())
            .collect();
        for id in expired {
            remove(&mut all, &id);
        }
        while all.len() >= self.limits.sessions.max(1) {
            let Some(oldest) = all.values().min_by_key(|s| s.created).map(|s| s.id.clone()) else {
                break;
            };
            remove(&mut all, &oldest);
        }
        all.insert(id, session.clone());
        Ok(session)
    }

    /// The session with this id, if it is still kept.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.all).get(id).cloned()
    }

    /// Forget a session and delete its folder (an upload that was refused).
    pub fn discard(&self, id: &str) {
        remove(&mut lock(&self.all), id);
    }
}

fn remove(all: &mut HashMap<String, Arc<Session>>, id: &str) {
    if let Some(session) = all.remove(id) {
        let _ = std::fs::remove_dir_all(&session.dir);
    }
}

impl Session {
    /// The folder of the uploads.
    pub fn inputs(&self) -> PathBuf {
        self.dir.join("in")
    }
    /// The folder of what the check wrote.
    pub fn outputs(&self) -> PathBuf {
        self.dir.join("out")
    }
    /// The current state of its check.
    pub fn job(&self) -> Job {
        lock(&self.job).clone()
    }
    /// Set the state of its check.
    pub fn set_job(&self, job: Job) {
        *lock(&self.job) = job;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_private_and_expire() {
        let limits = Limits {
            sessions: 2,
            ..Limits::default()
        };
        let sessions = Sessions::new(limits).expect("root");
        let a = sessions.create().expect("a");
        let b = sessions.create().expect("b");
        assert_ne!(a.id, b.id);
        assert!(a.dir.starts_with(sessions.root()) && a.inputs().is_dir());
        let c = sessions.create().expect("c");
        assert!(
            sessions.get(&a.id).is_none(),
            "the oldest goes when there are too many"
        );
        assert!(!a.dir.exists());
        assert!(sessions.get(&b.id).is_some() && sessions.get(&c.id).is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(sessions.root())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "only the owner can read the uploads");
        }
        let root = sessions.root().to_path_buf();
        drop(sessions);
        assert!(
            !root.exists(),
            "everything is removed when the server stops"
        );
    }
}
