//! A small etcd v3 client over etcd's JSON gateway (`POST /v3/kv/range` and friends): HTTP/1.1
//! on a plain or TLS socket (client certificates), etcd's own auth (a token from
//! `/v3/auth/authenticate`), and the members tried in turn. Blocking, one connection per
//! request (a watch keeps its own), short timeouts: a fleet command fails fast when etcd has no
//! quorum, and an agent retries.
//!
//! Why not the gRPC API: it would bring an async runtime and a protobuf stack into a CLI whose
//! commands take milliseconds; the gateway speaks the same API as JSON.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::error::Error;
use crate::model::registry::RegistryUrl;

/// How long one member may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one request may take: etcd answers in milliseconds when it has a leader, and waits
/// for one (up to its own request timeout, 7 s) when it has none.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(2500);

/// How vmctl reaches etcd.
pub struct Etcd {
    url: RegistryUrl,
    tls: Option<native_tls::TlsConnector>,
    auth: Option<(String, String)>,
    token: Mutex<Option<String>>,
    /// The member that answered last: asked first next time.
    preferred: AtomicUsize,
    /// Requests sent and bytes sent and received (HTTP included), for `vmctl agent`'s account
    /// of the load it puts on etcd.
    pub requests: AtomicU64,
    pub bytes_out: AtomicU64,
    pub bytes_in: AtomicU64,
}

/// One key and its value, as etcd keeps it.
#[derive(Debug, Clone)]
pub struct Kv {
    pub key: String,
    pub value: Vec<u8>,
    pub mod_revision: i64,
    pub create_revision: i64,
    pub lease: i64,
}

/// A change a watch saw.
#[derive(Debug, Clone)]
pub struct Event {
    pub deleted: bool,
    pub kv: Kv,
    pub prev: Option<Kv>,
}

/// A failure talking to etcd: it could not be reached (or had no quorum), or it refused.
#[derive(Debug)]
pub enum EtcdError {
    Unreachable(String),
    Refused { code: i64, message: String },
}

impl EtcdError {
    pub fn into_error(self, url: &RegistryUrl) -> Error {
        let members = url
            .endpoints
            .iter()
            .map(|(h, p)| format!("{h}:{p}"))
            .collect::<Vec<_>>()
            .join(", ");
        match self {
            EtcdError::Unreachable(why) => Error::host(
                format!("the fleet registry cannot be reached (etcd at {members}): {why}"),
                "check that etcd runs, has a quorum and that this host can reach it; `vmctl config registry` shows where vmctl looks",
            ),
            EtcdError::Refused { code, message } => Error::host(
                format!(
                    "the fleet registry refused the request (etcd at {members}): {message} (code {code})"
                ),
                if message.contains("permission denied") || message.contains("auth") {
                    "check registry_user, registry_password_file and the etcd role of this host"
                } else {
                    "see etcd's log"
                },
            ),
        }
    }
}

/// Bytes as the gateway carries them.
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// The end of the range of every key that starts with `prefix` (etcd's `range_end`).
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn unb64(value: &Value) -> Vec<u8> {
    value
        .as_str()
        .and_then(|s| B64.decode(s).ok())
        .unwrap_or_default()
}

/// etcd's JSON gateway writes int64 fields as strings.
fn int(value: &Value) -> i64 {
    match value {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn kv_of(value: &Value) -> Kv {
    Kv {
        key: String::from_utf8_lossy(&unb64(&value["key"])).into_owned(),
        value: unb64(&value["value"]),
        mod_revision: int(&value["mod_revision"]),
        create_revision: int(&value["create_revision"]),
        lease: int(&value["lease"]),
    }
}

/// A socket to one member, plain or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<native_tls::TlsStream<TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// The TLS settings of a registry: the CA that signed etcd's certificates, and this host's
/// certificate and key (PKCS#8 PEM) when etcd asks clients for one.
pub struct TlsFiles<'a> {
    pub ca: &'a std::path::Path,
    pub cert: Option<(&'a std::path::Path, &'a std::path::Path)>,
}

fn read_file(path: &std::path::Path, action: &'static str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(action, path, e))
}

impl Etcd {
    pub fn new(
        url: RegistryUrl,
        tls: Option<TlsFiles<'_>>,
        auth: Option<(String, String)>,
    ) -> Result<Etcd, Error> {
        let tls = match tls {
            None => None,
            Some(files) => {
                let mut builder = native_tls::TlsConnector::builder();
                let ca = read_file(files.ca, "reading the registry CA certificate")?;
                let ca = native_tls::Certificate::from_pem(&ca).map_err(|e| {
                    Error::invalid("registry_ca", files.ca.display().to_string(), e.to_string())
                        .with_hint("give the PEM file of the CA that signed etcd's certificates")
                })?;
                builder.add_root_certificate(ca);
                if let Some((cert, key)) = files.cert {
                    let identity = native_tls::Identity::from_pkcs8(
                        &read_file(cert, "reading the registry client certificate")?,
                        &read_file(key, "reading the registry client key")?,
                    )
                    .map_err(|e| {
                        Error::invalid("registry_cert", cert.display().to_string(), e.to_string())
                            .with_hint("registry_cert is a PEM certificate, registry_key its PKCS#8 PEM key (BEGIN PRIVATE KEY)")
                    })?;
                    builder.identity(identity);
                }
                Some(builder.build().map_err(|e| {
                    Error::host(
                        format!("setting up TLS for the registry: {e}"),
                        "check registry_ca, registry_cert and registry_key",
                    )
                })?)
            }
        };
        Ok(Etcd {
            url,
            tls,
            auth,
            token: Mutex::new(None),
            preferred: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
        })
    }

    pub fn url(&self) -> &RegistryUrl {
        &self.url
    }

    /// A connection to one member, and the local address it left from.
    fn connect(&self, at: usize, timeout: Option<Duration>) -> Result<(Conn, IpAddr), String> {
        let (host, port) = &self.url.endpoints[at];
        let addrs: Vec<SocketAddr> = (host.as_str(), *port)
            .to_socket_addrs()
            .map_err(|e| format!("{host}:{port}: {e}"))?
            .collect();
        let mut last = format!("{host}:{port}: no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(timeout)
                        .and_then(|()| stream.set_write_timeout(Some(REQUEST_TIMEOUT)))
                        .map_err(|e| format!("{host}:{port}: {e}"))?;
                    let _ = stream.set_nodelay(true);
                    let local = stream
                        .local_addr()
                        .map_err(|e| format!("{host}:{port}: {e}"))?
                        .ip();
                    let conn = match &self.tls {
                        None => Conn::Plain(stream),
                        Some(tls) => Conn::Tls(Box::new(
                            tls.connect(host, stream)
                                .map_err(|e| format!("{host}:{port}: TLS: {e}"))?,
                        )),
                    };
                    return Ok((conn, local));
                }
                Err(e) => last = format!("{host}:{port}: {e}"),
            }
        }
        Err(last)
    }

    fn auth_header(&self, refresh: bool) -> Result<Option<String>, EtcdError> {
        let Some((user, password)) = &self.auth else {
            return Ok(None);
        };
        let mut token = self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if refresh || token.is_none() {
            let answer = self.post_raw(
                "/v3/auth/authenticate",
                &json!({"name": user, "password": password}),
                None,
            )?;
            *token = answer["token"].as_str().map(str::to_owned);
        }
        Ok(token.clone())
    }

    /// POST `body` to `path` on the first member that answers, without auth.
    fn post_raw(&self, path: &str, body: &Value, token: Option<&str>) -> Result<Value, EtcdError> {
        let n = self.url.endpoints.len();
        let first = self.preferred.load(Ordering::Relaxed) % n;
        let mut errors = Vec::new();
        for i in 0..n {
            let at = (first + i) % n;
            match self.exchange(at, path, body, token) {
                Ok(answer) => {
                    self.preferred.store(at, Ordering::Relaxed);
                    return answer;
                }
                Err(e) => errors.push(e),
            }
        }
        Err(EtcdError::Unreachable(errors.join("; ")))
    }

    /// One request to one member: `Err` when it could not answer (try the next), `Ok(Err)`
    /// when it answered with a refusal.
    fn exchange(
        &self,
        at: usize,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> Result<Result<Value, EtcdError>, String> {
        let (mut conn, _) = self.connect(at, Some(REQUEST_TIMEOUT))?;
        let (status, answer, sent) =
            http_post(&mut conn, &self.url.endpoints[at].0, path, body, token).map_err(|e| {
                let why = if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) {
                    format!(
                        "no answer within {:.1} s (has etcd lost its quorum?)",
                        REQUEST_TIMEOUT.as_secs_f64()
                    )
                } else {
                    e.to_string()
                };
                format!(
                    "{}:{}: {why}",
                    self.url.endpoints[at].0, self.url.endpoints[at].1
                )
            })?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(sent as u64, Ordering::Relaxed);
        self.bytes_in
            .fetch_add(answer.len() as u64, Ordering::Relaxed);
        let text = answer;
        let answer: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
        if status == 200 {
            return Ok(Ok(answer));
        }
        // A refusal before the gateway (a client certificate it will not take, say) is plain
        // text, not JSON.
        let message = answer["message"]
            .as_str()
            .or_else(|| answer["error"].as_str())
            .map_or_else(
                || {
                    let plain = String::from_utf8_lossy(&text).trim().to_owned();
                    if plain.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        format!("HTTP {status}: {}", crate::error::printable(&plain))
                    }
                },
                str::to_owned,
            );
        // No leader, or a member cut off from the others: another member may do.
        if message.contains("no leader")
            || message.contains("timed out")
            || message.contains("not capable")
            || message.contains("leader changed")
        {
            return Err(format!(
                "{}:{}: {message}",
                self.url.endpoints[at].0, self.url.endpoints[at].1
            ));
        }
        Ok(Err(EtcdError::Refused {
            code: int(&answer["code"]),
            message,
        }))
    }

    /// POST with auth, authenticating again once when the token has expired.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, EtcdError> {
        let token = self.auth_header(false)?;
        match self.post_raw(path, body, token.as_deref()) {
            Err(EtcdError::Refused { message, .. })
                if self.auth.is_some() && message.contains("invalid auth token") =>
            {
                let token = self.auth_header(true)?;
                self.post_raw(path, body, token.as_deref())
            }
            other => other,
        }
    }

    /// Every key that starts with `prefix`, read in pages (a fleet's records are more than
    /// one answer should carry), all at the revision of the first page.
    pub fn range_prefix(&self, prefix: &str) -> Result<(Vec<Kv>, i64), EtcdError> {
        const PAGE: usize = 5000;
        let end = prefix_end(prefix);
        let mut from = prefix.as_bytes().to_vec();
        let mut all = Vec::new();
        let mut revision = 0;
        loop {
            let mut body = json!({
                "key": b64(&from),
                "range_end": b64(&end),
                "limit": PAGE.to_string(),
            });
            if revision != 0 {
                body["revision"] = Value::from(revision.to_string());
            }
            let answer = self.post("/v3/kv/range", &body)?;
            if revision == 0 {
                revision = int(&answer["header"]["revision"]);
            }
            let page: Vec<Kv> = answer["kvs"]
                .as_array()
                .map(|kvs| kvs.iter().map(kv_of).collect())
                .unwrap_or_default();
            let more = answer["more"].as_bool().unwrap_or(false);
            if let Some(last) = page.last() {
                from = last.key.as_bytes().to_vec();
                from.push(0);
            }
            all.extend(page);
            if !more {
                return Ok((all, revision));
            }
        }
    }

    /// A transaction: if every comparison holds, the `success` operations, else `failure`.
    /// Returns whether it succeeded and the responses of the branch that ran.
    pub fn txn(
        &self,
        compare: &[Value],
        success: &[Value],
        failure: &[Value],
    ) -> Result<(bool, Vec<Value>), EtcdError> {
        let answer = self.post(
            "/v3/kv/txn",
            &json!({"compare": compare, "success": success, "failure": failure}),
        )?;
        let responses = answer["responses"].as_array().cloned().unwrap_or_default();
        Ok((answer["succeeded"].as_bool().unwrap_or(false), responses))
    }

    pub fn lease_grant(&self, ttl: u64) -> Result<i64, EtcdError> {
        let answer = self.post("/v3/lease/grant", &json!({"TTL": ttl}))?;
        Ok(int(&answer["ID"]))
    }

    /// Renew the lease; its remaining time (0: it has expired).
    pub fn lease_keepalive(&self, id: i64) -> Result<i64, EtcdError> {
        let answer = self.post("/v3/lease/keepalive", &json!({"ID": id.to_string()}))?;
        Ok(int(&answer["result"]["TTL"]))
    }

    pub fn lease_revoke(&self, id: i64) -> Result<(), EtcdError> {
        self.post("/v3/lease/revoke", &json!({"ID": id.to_string()}))
            .map(|_| ())
    }

    /// The local address this host reaches the registry from.
    pub fn local_address(&self) -> Option<IpAddr> {
        let n = self.url.endpoints.len();
        (0..n).find_map(|i| {
            self.connect(
                (self.preferred.load(Ordering::Relaxed) + i) % n,
                Some(CONNECT_TIMEOUT),
            )
            .ok()
            .map(|(_, ip)| ip)
        })
    }

    /// Watch every key under `prefix` from `start_revision` (0: from now), calling `on_events`
    /// with each batch and the revision it brings the watcher to, until it returns false or
    /// the connection ends (an error then: the caller watches again from the last revision).
    pub fn watch(
        &self,
        prefix: &str,
        start_revision: i64,
        mut on_events: impl FnMut(&[Event], i64) -> bool,
    ) -> Result<(), EtcdError> {
        let token = self.auth_header(false)?;
        let body = json!({"create_request": {
            "key": b64(prefix.as_bytes()),
            "range_end": b64(&prefix_end(prefix)),
            "start_revision": start_revision.to_string(),
            "prev_kv": true,
        }});
        let n = self.url.endpoints.len();
        let mut errors = Vec::new();
        for i in 0..n {
            let at = (self.preferred.load(Ordering::Relaxed) + i) % n;
            // No read timeout: a quiet fleet sends nothing for a long time.
            let (mut conn, _) = match self.connect(at, None) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let host = self.url.endpoints[at].0.clone();
            let mut reader =
                match start_stream(&mut conn, &host, "/v3/watch", &body, token.as_deref()) {
                    Ok(reader) => reader,
                    Err(e) => {
                        errors.push(format!("{host}: {e}"));
                        continue;
                    }
                };
            loop {
                let line = match reader.next_line() {
                    Ok(Some(line)) => line,
                    Ok(None) => {
                        return Err(EtcdError::Unreachable(format!("{host}: the watch ended")));
                    }
                    Err(e) => return Err(EtcdError::Unreachable(format!("{host}: {e}"))),
                };
                let doc: Value = serde_json::from_slice(&line).unwrap_or(Value::Null);
                if let Some(error) = doc.get("error") {
                    return Err(EtcdError::Refused {
                        code: int(&error["grpc_code"]),
                        message: error["message"]
                            .as_str()
                            .unwrap_or("watch failed")
                            .to_owned(),
                    });
                }
                let result = &doc["result"];
                if result["canceled"].as_bool() == Some(true) {
                    return Err(EtcdError::Refused {
                        code: int(&result["compact_revision"]),
                        message: result["cancel_reason"]
                            .as_str()
                            .unwrap_or("the watch was canceled")
                            .to_owned(),
                    });
                }
                let events: Vec<Event> = result["events"]
                    .as_array()
                    .map(|events| {
                        events
                            .iter()
                            .map(|e| Event {
                                deleted: e["type"].as_str() == Some("DELETE"),
                                kv: kv_of(&e["kv"]),
                                prev: e.get("prev_kv").map(kv_of),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let revision = int(&result["header"]["revision"]);
                if !on_events(&events, revision) {
                    return Ok(());
                }
            }
        }
        Err(EtcdError::Unreachable(errors.join("; ")))
    }
}

/// Comparison: `key` does not exist.
pub fn absent(key: &str) -> Value {
    json!({"key": b64(key.as_bytes()), "target": "CREATE", "result": "EQUAL", "create_revision": "0"})
}

/// Comparison: `key` holds exactly `value`.
pub fn holds(key: &str, value: &[u8]) -> Value {
    json!({"key": b64(key.as_bytes()), "target": "VALUE", "result": "EQUAL", "value": b64(value)})
}

/// Operation: put `value` at `key`, bound to `lease` (0: none).
pub fn put_op(key: &str, value: &[u8], lease: i64) -> Value {
    let mut put = json!({"key": b64(key.as_bytes()), "value": b64(value)});
    if lease != 0 {
        put["lease"] = Value::from(lease.to_string());
    }
    json!({"request_put": put})
}

/// Operation: delete `key`.
pub fn delete_op(key: &str) -> Value {
    json!({"request_delete_range": {"key": b64(key.as_bytes())}})
}

/// Operation: read `key`.
pub fn get_op(key: &str) -> Value {
    json!({"request_range": {"key": b64(key.as_bytes())}})
}

/// The key-values of a `get_op`'s response in a transaction.
pub fn kvs_of_response(response: &Value) -> Vec<Kv> {
    response["response_range"]["kvs"]
        .as_array()
        .map(|kvs| kvs.iter().map(kv_of).collect())
        .unwrap_or_default()
}

/// Send one POST (HTTP/1.1, `Connection: close`) and read the status and the whole body; the
/// bytes the request took.
fn http_post(
    conn: &mut Conn,
    host: &str,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> std::io::Result<(u16, Vec<u8>, usize)> {
    let mut reader = start_stream(conn, host, path, body, token)?;
    let status = reader.status;
    let sent = reader.sent;
    let mut all = Vec::new();
    while let Some(chunk) = reader.next_chunk()? {
        all.extend_from_slice(&chunk);
    }
    Ok((status, all, sent))
}

/// A response being read: chunked, by length, or to the end of the connection.
struct Response<'a> {
    status: u16,
    reader: BufReader<&'a mut Conn>,
    chunked: bool,
    /// Bytes left of a body of known length.
    left: Option<usize>,
    done: bool,
    /// Bytes of an unfinished line (`next_line`).
    pending: Vec<u8>,
    /// Bytes of the request.
    sent: usize,
}

fn start_stream<'a>(
    conn: &'a mut Conn,
    host: &str,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> std::io::Result<Response<'a>> {
    let body = body.to_string();
    let auth = token.map_or(String::new(), |t| format!("Authorization: {t}\r\n"));
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes())?;
    conn.flush()?;
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            std::io::Error::other(format!("not an HTTP answer: {:?}", line.trim_end()))
        })?;
    let mut chunked = false;
    let mut left = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other(
                "the connection closed in the headers",
            ));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            } else if name.eq_ignore_ascii_case("content-length") {
                left = value.parse().ok();
            }
        }
    }
    Ok(Response {
        status,
        reader,
        chunked,
        left,
        done: false,
        pending: Vec::new(),
        sent: request.len(),
    })
}

impl Response<'_> {
    /// The next piece of the body; `None` at its end.
    fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        if self.chunked {
            let mut size = String::new();
            if self.reader.read_line(&mut size)? == 0 {
                self.done = true;
                return Ok(None);
            }
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| std::io::Error::other("a bad chunk size"))?;
            if size == 0 {
                self.done = true;
                return Ok(None);
            }
            let mut chunk = vec![0; size + 2];
            self.reader.read_exact(&mut chunk)?;
            chunk.truncate(size);
            return Ok(Some(chunk));
        }
        if let Some(left) = self.left {
            if left == 0 {
                self.done = true;
                return Ok(None);
            }
            let mut chunk = vec![0; left.min(1 << 16)];
            let n = self.reader.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::other("the body ended early"));
            }
            chunk.truncate(n);
            self.left = Some(left - n);
            return Ok(Some(chunk));
        }
        let mut chunk = vec![0; 1 << 16];
        let n = self.reader.read(&mut chunk)?;
        if n == 0 {
            self.done = true;
            return Ok(None);
        }
        chunk.truncate(n);
        Ok(Some(chunk))
    }

    /// The next newline-ended line of the body (the gateway streams one JSON document a line).
    fn next_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(at) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=at).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(line));
            }
            match self.next_chunk()? {
                Some(chunk) => self.pending.extend_from_slice(&chunk),
                None if self.pending.iter().all(u8::is_ascii_whitespace) => return Ok(None),
                None => return Ok(Some(std::mem::take(&mut self.pending))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefix_ends() {
        assert_eq!(super::prefix_end("/a/"), b"/a0".to_vec());
        assert_eq!(super::prefix_end("a\u{7f}"), b"a\x80".to_vec());
        assert_eq!(super::int(&serde_json::json!("12")), 12);
        assert_eq!(super::int(&serde_json::json!(7)), 7);
    }
}
