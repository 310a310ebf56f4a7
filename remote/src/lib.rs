//! A Remote Execution API (REAPI v2) cache client: action results and
//! content-addressed blobs over gRPC, as Bazel, Buck2 and BuildBuddy speak it,
//! for cargo gobuild's remote cache.
//!
//! Only the cache half of the API is used: `GetCapabilities` once,
//! `GetActionResult`/`UpdateActionResult` on the action cache,
//! `FindMissingBlobs`, `BatchReadBlobs`/`BatchUpdateBlobs` for blobs under the
//! server's batch limit, and ByteStream `Read`/`Write` for bigger ones.
//! Digests are SHA-256 with sizes (what servers accept; BuildGrid accepts
//! nothing else). Every blob read is checked against its digest: a server
//! cannot hand over bytes that are not what was asked for.
//!
//! The API is blocking (the engine's workers are threads); the client owns
//! a small tokio runtime. Every call has the configured timeout.
//!
//! An action's digest is [`action_digest`]: a pure function of the engine's
//! own key, so two machines with the same inputs agree on it.

use std::time::Duration;

use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use bazel_remote_apis::google::bytestream as bs;
use prost::Message;
use sha2::{Digest as _, Sha256};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

/// A SHA-256 digest with the size of its content (REAPI's `Digest`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    /// Lowercase hex SHA-256.
    pub hash: String,
    /// Bytes.
    pub size: u64,
}

impl Digest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        let h = Sha256::digest(data);
        let mut hash = String::with_capacity(64);
        for b in h {
            hash.push_str(&format!("{b:02x}"));
        }
        Digest {
            hash,
            size: data.len() as u64,
        }
    }

    fn proto(&self) -> re::Digest {
        re::Digest {
            hash: self.hash.clone(),
            size_bytes: self.size as i64,
        }
    }

    fn from_proto(d: &re::Digest) -> Digest {
        Digest {
            hash: d.hash.clone(),
            size: d.size_bytes.max(0) as u64,
        }
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.hash, self.size)
    }
}

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The endpoint is not a `grpc://` or `grpcs://` address.
    #[error("remote cache `{0}`: not a grpc://HOST:PORT or grpcs://HOST:PORT address")]
    BadEndpoint(String),
    /// Could not connect (or the first call failed).
    #[error("remote cache {endpoint}: {message}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// What failed.
        message: String,
    },
    /// A call failed.
    #[error("remote cache: {call} failed: {message}")]
    Call {
        /// The RPC.
        call: &'static str,
        /// The status or transport error.
        message: String,
    },
    /// The server sent bytes that do not match the digest asked for.
    #[error("remote cache: blob {digest} came back with other content ({got})")]
    Mismatch {
        /// What was asked for.
        digest: Digest,
        /// What the bytes hash to.
        got: Digest,
    },
    /// The server does not do what a cache needs.
    #[error("remote cache {endpoint}: {message}")]
    Unsupported {
        /// The endpoint.
        endpoint: String,
        /// What is missing.
        message: String,
    },
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// How to reach the server.
#[derive(Clone)]
pub struct Config {
    /// `grpc://HOST:PORT` or `grpcs://HOST:PORT`.
    pub endpoint: String,
    /// The REAPI instance name (often empty).
    pub instance_name: String,
    /// Headers sent with every call (API keys): never printed.
    pub headers: Vec<(String, String)>,
    /// Per-call timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values are secrets.
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("instance_name", &self.instance_name)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Adds the configured headers to every call.
#[derive(Clone)]
pub struct Headers(Vec<(AsciiMetadataKey, AsciiMetadataValue)>);

impl tonic::service::Interceptor for Headers {
    fn call(
        &mut self,
        mut req: tonic::Request<()>,
    ) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        for (k, v) in &self.0 {
            req.metadata_mut().insert(k.clone(), v.clone());
        }
        Ok(req)
    }
}

type Svc = InterceptedService<Channel, Headers>;

/// An output file of an action result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Its path, relative to the action's output root.
    pub path: String,
    /// Its content.
    pub digest: Digest,
}

/// A connected client.
pub struct Client {
    rt: tokio::runtime::Runtime,
    channel: Svc,
    instance: String,
    timeout: Duration,
    /// The server's batch limit (bytes per batch call).
    max_batch: u64,
    /// Can this client update action results?
    pub updates_allowed: bool,
}

fn call_err(call: &'static str) -> impl Fn(tonic::Status) -> Error {
    move |s| Error::Call {
        call,
        message: format!("{} {}", s.code(), s.message()),
    }
}

/// Room left in a batch for protobuf framing.
const BATCH_OVERHEAD: u64 = 64 * 1024;
/// ByteStream chunk size.
const CHUNK: usize = 1 << 20;

impl Client {
    /// Connects and asks the server what it can do: it must take SHA-256.
    pub fn connect(cfg: &Config) -> Result<Client> {
        let (scheme_ok, uri) = if let Some(rest) = cfg.endpoint.strip_prefix("grpc://") {
            (true, format!("http://{rest}"))
        } else if let Some(rest) = cfg.endpoint.strip_prefix("grpcs://") {
            (true, format!("https://{rest}"))
        } else {
            (false, String::new())
        };
        if !scheme_ok {
            return Err(Error::BadEndpoint(cfg.endpoint.clone()));
        }
        let connect = |message: String| Error::Connect {
            endpoint: cfg.endpoint.clone(),
            message,
        };
        let mut headers = Vec::new();
        for (k, v) in &cfg.headers {
            let key = AsciiMetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|_| connect(format!("header name `{k}` is not valid in gRPC metadata")))?;
            let val = AsciiMetadataValue::try_from(v.as_str()).map_err(|_| {
                connect(format!(
                    "the value of header `{k}` is not valid in gRPC metadata"
                ))
            })?;
            headers.push((key, val));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| connect(format!("runtime: {e}")))?;
        let mut ep = Endpoint::from_shared(uri)
            .map_err(|e| connect(e.to_string()))?
            .connect_timeout(cfg.timeout)
            .timeout(cfg.timeout);
        if cfg.endpoint.starts_with("grpcs://") {
            ep = ep
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(|e| connect(e.to_string()))?;
        }
        let channel = rt
            .block_on(async { tokio::time::timeout(cfg.timeout, ep.connect()).await })
            .map_err(|_| connect(format!("no answer within {:?}", cfg.timeout)))?
            .map_err(|e| connect(format!("{e}: {}", source_chain(&e))))?;
        let channel = InterceptedService::new(channel, Headers(headers));
        let mut client = Client {
            rt,
            channel,
            instance: cfg.instance_name.clone(),
            timeout: cfg.timeout,
            max_batch: 4 << 20,
            updates_allowed: true,
        };
        let caps = client
            .block(async {
                let mut c =
                    re::capabilities_client::CapabilitiesClient::new(client.channel.clone());
                c.get_capabilities(re::GetCapabilitiesRequest {
                    instance_name: client.instance.clone(),
                })
                .await
            })
            .map_err(|e| connect(e.to_string()))?
            .map_err(|s| connect(format!("GetCapabilities: {} {}", s.code(), s.message())))?
            .into_inner();
        let cache = caps.cache_capabilities.unwrap_or_default();
        let sha256 =
            bazel_remote_apis::build::bazel::remote::execution::v2::digest_function::Value::Sha256
                as i32;
        if !cache.digest_functions.is_empty() && !cache.digest_functions.contains(&sha256) {
            return Err(Error::Unsupported {
                endpoint: cfg.endpoint.clone(),
                message: "the server does not take SHA-256 digests".into(),
            });
        }
        if cache.max_batch_total_size_bytes > 0 {
            client.max_batch = cache.max_batch_total_size_bytes as u64;
        }
        client.updates_allowed = cache
            .action_cache_update_capabilities
            .map(|u| u.update_enabled)
            .unwrap_or(true);
        Ok(client)
    }

    fn block<F: std::future::Future>(&self, f: F) -> std::result::Result<F::Output, Error> {
        self.rt
            .block_on(async { tokio::time::timeout(self.timeout, f).await })
            .map_err(|_| Error::Call {
                call: "call",
                message: format!("no answer within {:?}", self.timeout),
            })
    }

    /// The action result the server holds for `action`, as its output files.
    pub fn get_action_result(&self, action: &Digest) -> Result<Option<Vec<OutputFile>>> {
        let r = self.block(async {
            let mut c = re::action_cache_client::ActionCacheClient::new(self.channel.clone());
            c.get_action_result(re::GetActionResultRequest {
                instance_name: self.instance.clone(),
                action_digest: Some(action.proto()),
                ..Default::default()
            })
            .await
        })?;
        match r {
            Ok(res) => Ok(Some(
                res.into_inner()
                    .output_files
                    .iter()
                    .map(|f| OutputFile {
                        path: f.path.clone(),
                        digest: f.digest.as_ref().map(Digest::from_proto).unwrap_or(Digest {
                            hash: String::new(),
                            size: 0,
                        }),
                    })
                    .collect(),
            )),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(call_err("GetActionResult")(s)),
        }
    }

    /// Records `outputs` as the result of `action` (after their blobs are up).
    pub fn update_action_result(&self, action: &Digest, outputs: &[OutputFile]) -> Result<()> {
        let result = re::ActionResult {
            output_files: outputs
                .iter()
                .map(|o| re::OutputFile {
                    path: o.path.clone(),
                    digest: Some(o.digest.proto()),
                    ..Default::default()
                })
                .collect(),
            exit_code: 0,
            ..Default::default()
        };
        self.block(async {
            let mut c = re::action_cache_client::ActionCacheClient::new(self.channel.clone());
            c.update_action_result(re::UpdateActionResultRequest {
                instance_name: self.instance.clone(),
                action_digest: Some(action.proto()),
                action_result: Some(result),
                ..Default::default()
            })
            .await
        })?
        .map_err(call_err("UpdateActionResult"))?;
        Ok(())
    }

    /// The blobs the server does not have, of `digests`.
    pub fn find_missing(&self, digests: &[Digest]) -> Result<Vec<Digest>> {
        let r = self
            .block(async {
                let mut c =
                    re::content_addressable_storage_client::ContentAddressableStorageClient::new(
                        self.channel.clone(),
                    );
                c.find_missing_blobs(re::FindMissingBlobsRequest {
                    instance_name: self.instance.clone(),
                    blob_digests: digests.iter().map(Digest::proto).collect(),
                    ..Default::default()
                })
                .await
            })?
            .map_err(call_err("FindMissingBlobs"))?;
        Ok(r.into_inner()
            .missing_blob_digests
            .iter()
            .map(Digest::from_proto)
            .collect())
    }

    /// Reads blobs, each checked against its digest; in the order asked.
    pub fn read_blobs(&self, digests: &[Digest]) -> Result<Vec<Vec<u8>>> {
        let mut out: Vec<Option<Vec<u8>>> = vec![None; digests.len()];
        let limit = self.max_batch.saturating_sub(BATCH_OVERHEAD).max(1);
        let mut batch: Vec<usize> = Vec::new();
        let mut batch_size = 0u64;
        let flush = |batch: &mut Vec<usize>, out: &mut Vec<Option<Vec<u8>>>| -> Result<()> {
            if batch.is_empty() {
                return Ok(());
            }
            let want: Vec<re::Digest> = batch.iter().map(|i| digests[*i].proto()).collect();
            let r = self
                .block(async {
                    let mut c =
                        re::content_addressable_storage_client::ContentAddressableStorageClient::new(
                            self.channel.clone(),
                        );
                    c.batch_read_blobs(re::BatchReadBlobsRequest {
                        instance_name: self.instance.clone(),
                        digests: want,
                        ..Default::default()
                    })
                    .await
                })?
                .map_err(call_err("BatchReadBlobs"))?;
            for resp in r.into_inner().responses {
                let Some(d) = resp.digest.as_ref().map(Digest::from_proto) else {
                    continue;
                };
                if resp.status.as_ref().is_some_and(|s| s.code != 0) {
                    continue;
                }
                for &i in batch.iter() {
                    if digests[i] == d && out[i].is_none() {
                        out[i] = Some(resp.data.clone());
                    }
                }
            }
            batch.clear();
            Ok(())
        };
        for (i, d) in digests.iter().enumerate() {
            if d.size > limit {
                out[i] = Some(self.bytestream_read(d)?);
                continue;
            }
            if batch_size + d.size > limit {
                flush(&mut batch, &mut out)?;
                batch_size = 0;
            }
            batch.push(i);
            batch_size += d.size;
        }
        flush(&mut batch, &mut out)?;
        let mut blobs = Vec::with_capacity(digests.len());
        for (i, b) in out.into_iter().enumerate() {
            let data = b.ok_or_else(|| Error::Call {
                call: "BatchReadBlobs",
                message: format!("blob {} not returned", digests[i]),
            })?;
            check(&digests[i], &data)?;
            blobs.push(data);
        }
        Ok(blobs)
    }

    fn bytestream_read(&self, d: &Digest) -> Result<Vec<u8>> {
        let name = format!(
            "{}blobs/{}/{}",
            instance_prefix(&self.instance),
            d.hash,
            d.size
        );
        self.block(async {
            let mut c = bs::byte_stream_client::ByteStreamClient::new(self.channel.clone());
            let mut stream = c
                .read(bs::ReadRequest {
                    resource_name: name,
                    read_offset: 0,
                    read_limit: 0,
                })
                .await
                .map_err(call_err("ByteStream.Read"))?
                .into_inner();
            let mut data = Vec::with_capacity(d.size as usize);
            while let Some(msg) = stream
                .message()
                .await
                .map_err(call_err("ByteStream.Read"))?
            {
                data.extend_from_slice(&msg.data);
            }
            Ok(data)
        })?
    }

    /// Uploads the blobs the server lacks; returns the bytes sent.
    pub fn upload_blobs(&self, blobs: &[(Digest, &[u8])]) -> Result<u64> {
        let digests: Vec<Digest> = blobs.iter().map(|(d, _)| d.clone()).collect();
        let missing: std::collections::HashSet<Digest> =
            self.find_missing(&digests)?.into_iter().collect();
        let limit = self.max_batch.saturating_sub(BATCH_OVERHEAD).max(1);
        let mut sent = 0u64;
        let mut batch: Vec<re::batch_update_blobs_request::Request> = Vec::new();
        let mut batch_size = 0u64;
        let mut seen = std::collections::HashSet::new();
        let flush = |batch: &mut Vec<re::batch_update_blobs_request::Request>| -> Result<()> {
            if batch.is_empty() {
                return Ok(());
            }
            let requests = std::mem::take(batch);
            let r = self
                .block(async {
                    let mut c =
                        re::content_addressable_storage_client::ContentAddressableStorageClient::new(
                            self.channel.clone(),
                        );
                    c.batch_update_blobs(re::BatchUpdateBlobsRequest {
                        instance_name: self.instance.clone(),
                        requests,
                        ..Default::default()
                    })
                    .await
                })?
                .map_err(call_err("BatchUpdateBlobs"))?;
            if let Some(bad) = r
                .into_inner()
                .responses
                .iter()
                .find(|x| x.status.as_ref().is_some_and(|s| s.code != 0))
            {
                return Err(Error::Call {
                    call: "BatchUpdateBlobs",
                    message: bad
                        .status
                        .as_ref()
                        .map(|s| s.message.clone())
                        .unwrap_or_default(),
                });
            }
            Ok(())
        };
        for (d, data) in blobs {
            if !missing.contains(d) || !seen.insert(d.clone()) {
                continue;
            }
            sent += d.size;
            if d.size > limit {
                self.bytestream_write(d, data)?;
                continue;
            }
            if batch_size + d.size > limit {
                flush(&mut batch)?;
                batch_size = 0;
            }
            batch.push(re::batch_update_blobs_request::Request {
                digest: Some(d.proto()),
                data: data.to_vec(),
                ..Default::default()
            });
            batch_size += d.size;
        }
        flush(&mut batch)?;
        Ok(sent)
    }

    fn bytestream_write(&self, d: &Digest, data: &[u8]) -> Result<()> {
        let name = format!(
            "{}uploads/{}/blobs/{}/{}",
            instance_prefix(&self.instance),
            uuid::Uuid::new_v4(),
            d.hash,
            d.size
        );
        let mut msgs = Vec::new();
        let mut off = 0usize;
        loop {
            let end = (off + CHUNK).min(data.len());
            msgs.push(bs::WriteRequest {
                resource_name: if off == 0 {
                    name.clone()
                } else {
                    String::new()
                },
                write_offset: off as i64,
                finish_write: end == data.len(),
                data: data[off..end].to_vec(),
            });
            off = end;
            if off >= data.len() {
                break;
            }
        }
        self.block(async {
            let mut c = bs::byte_stream_client::ByteStreamClient::new(self.channel.clone());
            c.write(futures::stream::iter(msgs)).await
        })?
        .map_err(call_err("ByteStream.Write"))?;
        Ok(())
    }
}

fn instance_prefix(instance: &str) -> String {
    if instance.is_empty() {
        String::new()
    } else {
        format!("{instance}/")
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = Vec::new();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push(c.to_string());
        cur = c.source();
    }
    s.join(": ")
}

/// Checks that `data` is what `d` names.
pub fn check(d: &Digest, data: &[u8]) -> Result<()> {
    let got = Digest::of(data);
    if &got == d {
        Ok(())
    } else {
        Err(Error::Mismatch {
            digest: d.clone(),
            got,
        })
    }
}

/// The REAPI action for one of the engine's keys: a `Command` naming the
/// key and its outputs, an empty input root (the key already covers every
/// input by content), and the `Action` over them. Returns the action's
/// digest and the blobs (Action, Command, the empty Directory) a server may
/// want stored beside its result.
pub fn action_digest(key_hex: &str, outputs: &[&str]) -> (Digest, Vec<(Digest, Vec<u8>)>) {
    let mut output_paths: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
    output_paths.sort();
    let command = re::Command {
        arguments: vec!["cargo-gobuild".into(), "action".into(), key_hex.to_string()],
        output_paths,
        ..Default::default()
    }
    .encode_to_vec();
    let dir = re::Directory::default().encode_to_vec();
    let (cd, dd) = (Digest::of(&command), Digest::of(&dir));
    let action = re::Action {
        command_digest: Some(cd.proto()),
        input_root_digest: Some(dd.proto()),
        ..Default::default()
    }
    .encode_to_vec();
    let ad = Digest::of(&action);
    (ad.clone(), vec![(ad, action), (cd, command), (dd, dir)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_digests_with_sizes() {
        let d = Digest::of(b"abc");
        assert_eq!(
            d.hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.size, 3);
        assert!(check(&d, b"abc").is_ok());
        assert!(matches!(check(&d, b"abd"), Err(Error::Mismatch { .. })));
    }

    #[test]
    fn action_digests_are_pure_functions_of_the_key() {
        let (a, blobs) = action_digest("00ff", &["exe", "_pkg_.a"]);
        let (b, _) = action_digest("00ff", &["_pkg_.a", "exe"]);
        let (c, _) = action_digest("00fe", &["exe", "_pkg_.a"]);
        assert_eq!(a, b, "output order does not matter");
        assert_ne!(a, c);
        assert_eq!(blobs.len(), 3);
        for (d, data) in &blobs {
            assert!(check(d, data).is_ok());
        }
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_address() {
        let cfg = Config {
            endpoint: "http://localhost:1".into(),
            instance_name: String::new(),
            headers: vec![("x-api-key".into(), "secret".into())],
            timeout: Duration::from_secs(1),
        };
        let e = Client::connect(&cfg).err().unwrap().to_string();
        assert!(
            e.contains("http://localhost:1") && e.contains("grpc://"),
            "{e}"
        );
        assert!(
            !format!("{cfg:?}").contains("secret"),
            "Debug hides header values"
        );
    }

    #[test]
    fn a_server_that_is_down_is_a_connect_error_within_the_timeout() {
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = Config {
            endpoint: format!("grpc://127.0.0.1:{port}"),
            instance_name: String::new(),
            headers: vec![],
            timeout: Duration::from_secs(2),
        };
        let t = std::time::Instant::now();
        let e = Client::connect(&cfg).err().unwrap();
        assert!(matches!(e, Error::Connect { .. }), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn headers_reach_the_server() {
        use re::capabilities_server::{Capabilities, CapabilitiesServer};

        /// A server that answers GetCapabilities and keeps the header it saw.
        #[derive(Clone, Default)]
        struct Caps(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

        #[tonic::async_trait]
        impl Capabilities for Caps {
            async fn get_capabilities(
                &self,
                req: tonic::Request<re::GetCapabilitiesRequest>,
            ) -> std::result::Result<tonic::Response<re::ServerCapabilities>, tonic::Status>
            {
                if let Some(v) = req.metadata().get("x-api-key") {
                    self.0
                        .lock()
                        .unwrap()
                        .push(v.to_str().unwrap_or("").to_string());
                }
                Ok(tonic::Response::new(re::ServerCapabilities {
                    cache_capabilities: Some(re::CacheCapabilities {
                        digest_functions: vec![re::digest_function::Value::Sha256 as i32],
                        ..Default::default()
                    }),
                    ..Default::default()
                }))
            }
        }

        let caps = Caps::default();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = caps.clone();
        rt.spawn(async move {
            tonic::transport::Server::builder()
                .add_service(CapabilitiesServer::new(server))
                .serve(addr)
                .await
        });
        let cfg = Config {
            endpoint: format!("grpc://127.0.0.1:{port}"),
            instance_name: String::new(),
            headers: vec![("X-Api-Key".into(), "sekrit-value".into())],
            timeout: Duration::from_secs(2),
        };
        let mut connected = false;
        for _ in 0..50 {
            if Client::connect(&cfg).is_ok() {
                connected = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(connected, "the test server never answered");
        assert_eq!(*caps.0.lock().unwrap(), ["sekrit-value"]);
    }
}
