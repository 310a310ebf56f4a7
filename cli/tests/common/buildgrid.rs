//! A BuildGrid server on 127.0.0.1 for the remote-cache tests: in-memory
//! CAS, ByteStream and action cache, one instance per name asked for,
//! started from the virtual environment `scripts/install-buildgrid` makes,
//! waited for until it answers `GetCapabilities`, killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct BuildGrid {
    child: Child,
    /// `grpc://127.0.0.1:PORT`.
    pub url: String,
    _dir: tempfile::TempDir,
}

/// Where `bgd` is: `$GOBUILD_TEST_BUILDGRID/bin/bgd`, default
/// `<repo>/target/buildgrid/bin/bgd`. Missing is a failure, not a skip.
pub fn bgd() -> PathBuf {
    let root = std::env::var_os("GOBUILD_TEST_BUILDGRID")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/buildgrid")
        });
    let bgd = root.join("bin/bgd");
    assert!(
        bgd.is_file(),
        "BuildGrid is not installed at {} (run scripts/install-buildgrid; .ci/run does)",
        bgd.display()
    );
    bgd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl BuildGrid {
    /// Starts a server with the REAPI instances `names` ("" is the default
    /// instance), each with its own storage and action cache.
    pub fn start(names: &[&str]) -> BuildGrid {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut storages = String::new();
        let mut caches = String::new();
        let mut instances = String::new();
        for (i, n) in names.iter().enumerate() {
            storages.push_str(&format!("  - !lru-storage &cas{i}\n    size: 512MB\n"));
            caches.push_str(&format!(
                "  - !lru-action-cache &ac{i}\n    storage: *cas{i}\n    max-cached-refs: 100000\n    allow-updates: true\n    cache-failed-actions: true\n"
            ));
            instances.push_str(&format!(
                "  - name: \"{n}\"\n    services:\n      - !cas\n        storage: *cas{i}\n      - !bytestream\n        storage: *cas{i}\n      - !action-cache\n        cache: *ac{i}\n"
            ));
        }
        let config = format!(
            "server:\n  - !channel\n    address: \"127.0.0.1:{port}\"\n    insecure-mode: true\nauthorization:\n  method: none\nmonitoring:\n  enabled: false\nstorages:\n{storages}caches:\n{caches}instances:\n{instances}thread-pool-size: 8\n"
        );
        let cfg = dir.path().join("buildgrid.yml");
        std::fs::write(&cfg, config).unwrap();
        let log = std::fs::File::create(dir.path().join("bgd.log")).unwrap();
        let child = Command::new(bgd())
            .args(["server", "start"])
            .arg(&cfg)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start bgd");
        let url = format!("grpc://127.0.0.1:{port}");
        let mut bg = BuildGrid {
            child,
            url: url.clone(),
            _dir: dir,
        };
        // It takes several seconds before it listens.
        let start = Instant::now();
        loop {
            let cfg = remote::Config {
                endpoint: url.clone(),
                instance_name: names.first().map(|s| s.to_string()).unwrap_or_default(),
                headers: vec![],
                timeout: Duration::from_secs(2),
            };
            if remote::Client::connect(&cfg).is_ok() {
                break;
            }
            if let Ok(Some(status)) = bg.child.try_wait() {
                panic!("bgd exited ({status}): {}", bg.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "BuildGrid did not answer within 90 s: {}",
                bg.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        bg
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("bgd.log")).unwrap_or_default()
    }

    /// Stops the server now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A client of instance `name`.
    pub fn client(&self, name: &str) -> remote::Client {
        remote::Client::connect(&remote::Config {
            endpoint: self.url.clone(),
            instance_name: name.into(),
            headers: vec![],
            timeout: Duration::from_secs(10),
        })
        .expect("connect to BuildGrid")
    }
}

impl Drop for BuildGrid {
    fn drop(&mut self) {
        self.kill();
    }
}
