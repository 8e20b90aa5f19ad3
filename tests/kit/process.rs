//! The real simrelay binary as a child process: its config written to a file, its log kept
//! next to it, signals, exits and restarts. Each harness wraps it with the requests it needs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::free_port;

/// See the module documentation. Killed when dropped.
pub struct Process {
    /// The port its `[server] listen` uses.
    pub port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Process {
    /// Picks a free port, writes `config(port)` to a file in `dir` and starts
    /// `simrelay serve --config <file>` with its output appended to a log file in `dir`.
    pub fn serve(dir: &Path, config: impl FnOnce(u16) -> String) -> Process {
        Process::serve_on(dir, free_port(), config)
    }

    /// [`Process::serve`] on a given port.
    pub fn serve_on(dir: &Path, port: u16, config: impl FnOnce(u16) -> String) -> Process {
        let path = dir.join(format!("simrelay-{port}.toml"));
        std::fs::write(&path, config(port)).expect("config file written");
        let mut process = Process {
            port,
            config: path,
            log: dir.join(format!("simrelay-{port}.log")),
            child: None,
        };
        process.spawn();
        process
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_simrelay"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env_remove("RUST_LOG")
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("the simrelay binary starts");
        self.child = Some(child);
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything it logged so far (all its runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its config file.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether its listener accepts connections.
    pub fn listening(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, and waits for a graceful exit (code 0).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let status = child.wait().expect("simrelay exits");
            assert!(
                status.success(),
                "graceful stop failed: {status}\n{}",
                self.log()
            );
        }
    }

    /// Sends a signal (`STOP`, `CONT`, `TERM`, …) without waiting.
    pub fn signal(&self, name: &str) {
        let pid = self.pid().expect("simrelay runs");
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// SIGTERM without waiting.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Waits up to `limit` for the process to exit by itself; its exit code, if it did.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Some(status.code().unwrap_or(-1));
                }
            }
            if started.elapsed() >= limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the same binary with the same config again (after a kill, stop or exit).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "simrelay still runs");
        self.spawn();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Gives a harness's wrapper of the process (a struct with a `process: Process` field) the
/// process's own methods, through `Deref`/`DerefMut`.
#[macro_export]
macro_rules! wraps_process {
    ($wrapper:ty) => {
        impl std::ops::Deref for $wrapper {
            type Target = $crate::kit::Process;
            fn deref(&self) -> &$crate::kit::Process {
                &self.process
            }
        }

        impl std::ops::DerefMut for $wrapper {
            fn deref_mut(&mut self) -> &mut $crate::kit::Process {
                &mut self.process
            }
        }
    };
}
