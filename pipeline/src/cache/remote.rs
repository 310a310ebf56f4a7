//! The remote tier: the local cache in front of a Remote Execution API
//! cache server ([`remote`] crate), behind the same [`ActionCache`] trait.
//!
//! Flow per action: a local hit is done. On a local miss, `GetActionResult`
//! for the action's REAPI digest ([`remote::action_digest`] of our key, so it
//! depends on exactly what the local key depends on); a remote hit downloads
//! the outputs and the entry (checked against their SHA-256 digests by the
//! client, then against the entry's BLAKE3 digests as they are stored
//! locally), stores them, and is a hit. A remote miss runs the action
//! locally; storing its entry queues an upload (blobs first, then
//! `UpdateActionResult`, so a result never names a missing blob) on a
//! background thread, so workers never wait for the network on a miss.
//!
//! Faults: the first failure to talk to the server (down, slow, refusing)
//! is one warning and turns the remote off for the rest of the build; a
//! remote result that does not verify is a miss and a warning. Nothing the
//! server sends is used unverified.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::cache::{ActionCache, ActionKey, Entry, LocalCache, Lookup, ObjectStore};
use crate::error::Result;
pub use crate::events::RemoteStats;
/// How to reach the server (the client crate's configuration).
pub use remote::Config as RemoteServer;

/// Where the remote cache is and how to use it (resolved: header values
/// hold the secrets themselves; `remote::Config`'s Debug never shows them).
#[derive(Debug, Clone)]
pub struct RemoteSettings {
    /// The server, instance, headers and timeout.
    pub server: RemoteServer,
    /// Upload what this build ran (false: read-only).
    pub upload: bool,
}

/// The name of the entry among a remote action result's output files.
const ENTRY_FILE: &str = "gobuild-entry.json";

struct Tier {
    client: remote::Client,
    endpoint: String,
    down: AtomicBool,
    stats: Mutex<RemoteStats>,
    warnings: Mutex<Vec<String>>,
}

impl Tier {
    /// The first failure turns the remote off, with one warning.
    fn fail(&self, e: impl std::fmt::Display) {
        if !self.down.swap(true, Ordering::SeqCst) {
            self.warnings.lock().unwrap().push(format!(
                "remote cache {} unavailable, building locally: {e}",
                self.endpoint
            ));
        }
    }

    fn up(&self) -> bool {
        !self.down.load(Ordering::SeqCst)
    }

    /// A remote hit, stored locally; `Ok(None)` on a miss or a result that
    /// does not verify.
    fn fetch(&self, key: &ActionKey, local: &LocalCache) -> remote::Result<Option<Entry>> {
        let (ad, _) = remote::action_digest(&key.to_hex(), &[]);
        let Some(files) = self.client.get_action_result(&ad)? else {
            return Ok(None);
        };
        let digests: Vec<remote::Digest> = files.iter().map(|f| f.digest.clone()).collect();
        let blobs = match self.client.read_blobs(&digests) {
            Ok(b) => b,
            Err(e @ remote::Error::Mismatch { .. }) => {
                self.reject(format!("{e}"));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let down: u64 = blobs.iter().map(|b| b.len() as u64).sum();
        let by_path = |p: &str| files.iter().position(|f| f.path == p).map(|i| &blobs[i]);
        let Some(entry) = by_path(ENTRY_FILE).and_then(|d| serde_json::from_slice::<Entry>(d).ok())
        else {
            self.reject(format!(
                "the result of action {ad} has no readable {ENTRY_FILE}"
            ));
            return Ok(None);
        };
        for (name, d) in &entry.outputs {
            let Some(data) = by_path(name) else {
                self.reject(format!("the result of action {ad} lacks its output {name}"));
                return Ok(None);
            };
            // Stored by its own content: a blob that is not the object the
            // entry names is never used under that name.
            let got = local.store_bytes(data).map_err(|e| remote::Error::Call {
                call: "store",
                message: e.to_string(),
            })?;
            if got != *d {
                self.reject(format!(
                    "output {name} of action {ad} does not match its entry's digest"
                ));
                return Ok(None);
            }
        }
        let _ = crate::cache::ActionCache::store_entry(local, key, &entry);
        let mut s = self.stats.lock().unwrap();
        s.hits += 1;
        s.bytes_down += down;
        Ok(Some(entry))
    }

    fn reject(&self, why: String) {
        self.warnings
            .lock()
            .unwrap()
            .push(format!("remote cache: {why}; rebuilt locally"));
    }

    fn upload(&self, key: &ActionKey, entry: &Entry, local: &LocalCache) -> remote::Result<()> {
        let (ad, mut blobs) = remote::action_digest(&key.to_hex(), &[]);
        let entry_json = serde_json::to_vec(entry).expect("entry serializes");
        let mut outputs = Vec::new();
        let ed = remote::Digest::of(&entry_json);
        outputs.push(remote::OutputFile {
            path: ENTRY_FILE.into(),
            digest: ed.clone(),
        });
        blobs.push((ed, entry_json));
        for (name, d) in &entry.outputs {
            let data = local.read(d).map_err(|e| remote::Error::Call {
                call: "read",
                message: e.to_string(),
            })?;
            let rd = remote::Digest::of(&data);
            outputs.push(remote::OutputFile {
                path: name.clone(),
                digest: rd.clone(),
            });
            blobs.push((rd, data));
        }
        let refs: Vec<(remote::Digest, &[u8])> = blobs
            .iter()
            .map(|(d, b)| (d.clone(), b.as_slice()))
            .collect();
        let sent = self.client.upload_blobs(&refs)?;
        self.client.update_action_result(&ad, &outputs)?;
        let mut s = self.stats.lock().unwrap();
        s.bytes_up += sent;
        s.uploads += 1;
        Ok(())
    }
}

/// The upload queue and its worker thread.
type Uploader = (Sender<(ActionKey, Entry)>, JoinHandle<()>);

/// The local cache, and the remote behind it when one is configured.
pub struct TieredCache {
    local: LocalCache,
    tier: Option<Arc<Tier>>,
    uploads: Mutex<Option<Uploader>>,
    warnings: Mutex<Vec<String>>,
}

impl TieredCache {
    /// The local cache alone, or in front of the remote in `settings`
    /// (connecting now: a server that does not answer is a warning, and the
    /// build goes on locally).
    pub fn new(local: LocalCache, settings: Option<&RemoteSettings>) -> TieredCache {
        let mut c = TieredCache {
            local,
            tier: None,
            uploads: Mutex::new(None),
            warnings: Mutex::new(Vec::new()),
        };
        let Some(s) = settings else { return c };
        match remote::Client::connect(&s.server) {
            Ok(client) => {
                let upload = s.upload && client.updates_allowed;
                let tier = Arc::new(Tier {
                    client,
                    endpoint: s.server.endpoint.clone(),
                    down: AtomicBool::new(false),
                    stats: Mutex::new(RemoteStats::default()),
                    warnings: Mutex::new(Vec::new()),
                });
                if upload {
                    let (tx, rx) = mpsc::channel::<(ActionKey, Entry)>();
                    let t = tier.clone();
                    let local = c.local.clone();
                    let worker = std::thread::spawn(move || {
                        for (key, entry) in rx {
                            if t.up() {
                                if let Err(e) = t.upload(&key, &entry, &local) {
                                    t.fail(e);
                                }
                            }
                        }
                    });
                    *c.uploads.lock().unwrap() = Some((tx, worker));
                }
                c.tier = Some(tier);
            }
            Err(e) => c
                .warnings
                .lock()
                .unwrap()
                .push(format!("{e}; building without the remote cache")),
        }
        c
    }

    /// The local cache.
    pub fn local(&self) -> &LocalCache {
        &self.local
    }

    /// Waits for the queued uploads, then says what the remote did (when
    /// one is configured and answered) and the warnings to report.
    pub fn finish(&self) -> (Option<RemoteStats>, Vec<String>) {
        if let Some((tx, worker)) = self.uploads.lock().unwrap().take() {
            drop(tx);
            let _ = worker.join();
        }
        let mut warnings = std::mem::take(&mut *self.warnings.lock().unwrap());
        let stats = self.tier.as_ref().map(|t| {
            warnings.append(&mut t.warnings.lock().unwrap());
            t.stats.lock().unwrap().clone()
        });
        (stats, warnings)
    }
}

impl ActionCache for TieredCache {
    fn lookup(&self, key: &ActionKey) -> Lookup {
        let local = self.local.lookup(key);
        let Some(tier) = self.tier.as_ref().filter(|t| t.up()) else {
            return local;
        };
        if matches!(local, Lookup::Hit(_)) {
            return local;
        }
        match tier.fetch(key, &self.local) {
            Ok(Some(entry)) => Lookup::RemoteHit(entry),
            Ok(None) => {
                tier.stats.lock().unwrap().misses += 1;
                match local {
                    Lookup::Damaged { .. } => local,
                    _ => Lookup::RemoteMiss,
                }
            }
            Err(e) => {
                tier.fail(e);
                local
            }
        }
    }

    fn store_entry(&self, key: &ActionKey, entry: &Entry) -> Result<()> {
        self.local.store_entry(key, entry)?;
        if let Some((tx, _)) = self.uploads.lock().unwrap().as_ref() {
            let _ = tx.send((*key, entry.clone()));
        }
        Ok(())
    }
}
