//! Two costumes for the simulator, each a thin wrapper around its router:
//! - [`TableauCloudSim`]: Tableau Cloud on loopback. One TLS listener, routed by the `Host`
//!   header: requests for the front door `online.tableau.com` answer 301 to the pod
//!   (`https://<pod>.online.tableau.com:PORT/…`, same listener), which serves the site. The
//!   certificate (for `online.tableau.com` and `*.online.tableau.com`) comes from a throwaway CA
//!   made at start; a client trusts it through `TABLEAU_CA_CERT` and reaches the names through
//!   the simulation-only resolve knob (`tableau::sim_resolve`).
//! - [`xml_only_serverinfo`]: an old server whose `serverinfo` answers XML whatever `Accept`
//!   says (JSON output came with REST API 2.5).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tower::ServiceExt as _;

use super::model::SimConfig;
use super::{TableauSim, app};
use crate::sim::server::SimServer;

/// Tableau Cloud's front door.
pub const FRONT_DOOR: &str = "online.tableau.com";

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One request the front door answered with a redirect.
#[derive(Clone, Debug)]
pub struct FrontDoorHit {
    pub method: String,
    pub path: String,
}

/// The requests the front door redirected; clones share the log.
#[derive(Clone, Debug)]
pub struct FrontDoorLog(Arc<Mutex<Vec<FrontDoorHit>>>);

impl FrontDoorLog {
    pub fn hits(&self) -> Vec<FrontDoorHit> {
        hits(&self.0).clone()
    }
}

/// The simulator playing Tableau Cloud: a front door that redirects to one pod.
pub struct TableauCloudSim {
    /// The pod's simulator; its `url()` is the front door.
    pub sim: TableauSim,
    pod_url: String,
    ca_pem: String,
    port: u16,
    pod_host: String,
    hits: Arc<Mutex<Vec<FrontDoorHit>>>,
}

impl TableauCloudSim {
    /// Serves `config` as the pod `<pod>.online.tableau.com` behind the front door, over TLS on
    /// 127.0.0.1 and a free port. `pod` is a host label such as `10ax` or `prod-useast-b`.
    pub async fn start(config: SimConfig, pod: &str) -> anyhow::Result<TableauCloudSim> {
        crate::tls::install_crypto_provider();
        anyhow::ensure!(
            !pod.is_empty() && pod.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "a pod is one host label, like 10ax"
        );
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("failed to bind the Tableau Cloud simulator to 127.0.0.1")?;
        let port = listener.local_addr()?.port();
        let pod_host = format!("{}.{FRONT_DOOR}", pod.to_ascii_lowercase());
        let pod_url = format!("https://{pod_host}:{port}");
        let (inner, state) = app(config, &pod_url)?;
        let hits = Arc::new(Mutex::new(Vec::new()));
        let door = {
            let hits = Arc::clone(&hits);
            let pod_url = pod_url.clone();
            move |request: Request| {
                let inner = inner.clone();
                let hits = Arc::clone(&hits);
                let pod_url = pod_url.clone();
                async move {
                    if host_of(&request).as_deref() == Some(FRONT_DOOR) {
                        return redirect_to_pod(&request, &pod_url, &hits);
                    }
                    match inner.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                }
            }
        };
        let router = Router::new().fallback(door);
        let (ca_pem, tls) = certificates()?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve_tls(listener, TlsAcceptor::from(tls), router, stopped));
        let server = SimServer::spawned(format!("https://{FRONT_DOOR}:{port}"), stop, task);
        Ok(TableauCloudSim {
            sim: TableauSim { server, state },
            pod_url,
            ca_pem,
            port,
            pod_host,
            hits,
        })
    }

    /// `https://online.tableau.com:PORT`: what a user writes as `tableau-site-url`.
    pub fn front_door_url(&self) -> String {
        self.sim.url()
    }

    /// `https://<pod>.online.tableau.com:PORT`, where the front door sends everyone.
    pub fn pod_url(&self) -> &str {
        &self.pod_url
    }

    /// The throwaway CA's certificate (PEM), for `TABLEAU_CA_CERT`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The value of the simulation-only resolve knob that sends both names to this listener.
    pub fn resolve_knob(&self) -> String {
        format!("{FRONT_DOOR}=127.0.0.1,{}=127.0.0.1", self.pod_host)
    }

    /// The names and the address to connect them to, for a client built in this process.
    pub fn resolve_pairs(&self) -> Vec<(String, SocketAddr)> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        vec![
            (FRONT_DOOR.to_string(), addr),
            (self.pod_host.clone(), addr),
        ]
    }

    /// Every request the front door redirected, in order.
    pub fn front_door_hits(&self) -> Vec<FrontDoorHit> {
        self.front_door_log().hits()
    }

    /// A handle on the front door's log that outlives moving `sim` out.
    pub fn front_door_log(&self) -> FrontDoorLog {
        FrontDoorLog(Arc::clone(&self.hits))
    }

    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

/// The `Host` header's name, lower-cased, without the port.
fn host_of(request: &Request) -> Option<String> {
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    Some(name.trim_end_matches('.').to_ascii_lowercase())
}

/// 301 to the same path and query on the pod, for every method (Tableau Cloud does so for the
/// sign-in POST, which a client must send again as a POST).
fn redirect_to_pod(request: &Request, pod_url: &str, hits: &Mutex<Vec<FrontDoorHit>>) -> Response {
    let path_and_query = request.uri().path_and_query().map_or("/", |p| p.as_str());
    self::hits(hits).push(FrontDoorHit {
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
    });
    let location = format!("{pod_url}{path_and_query}");
    let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Accepts TCP connections, completes the TLS handshake in a task per connection, and serves
/// HTTP/1 on it until `stopped` fires.
async fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            // Typically EMFILE under load: wait for descriptors to come back.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}

/// A throwaway CA (its PEM) and a server config whose certificate it signed, for
/// `online.tableau.com` and `*.online.tableau.com`. Made fresh each start; the keys never leave
/// this process.
fn certificates() -> anyhow::Result<(String, Arc<rustls::ServerConfig>)> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.distinguished_name.push(
        DnType::CommonName,
        "dbt-tableau-refresh simulator CA (throwaway)",
    );
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let mut leaf_params =
        CertificateParams::new(vec![FRONT_DOOR.to_string(), format!("*.{FRONT_DOOR}")])?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, FRONT_DOOR);
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .context("the simulator's TLS configuration")?;
    Ok((ca.pem(), Arc::new(config)))
}

/// Wraps a simulator router so that `GET /api/{v}/serverinfo` answers XML whatever `Accept`
/// says, as a Tableau Server 10.1 does. The simulator answers XML by default, so the `Accept`
/// header is simply not passed on for that one call; faults, latency and the request log still
/// apply.
pub fn xml_only_serverinfo(inner: Router) -> Router {
    Router::new().fallback(move |mut request: Request| {
        let inner = inner.clone();
        async move {
            let serverinfo = request
                .uri()
                .path()
                .to_ascii_lowercase()
                .ends_with("/serverinfo");
            if serverinfo {
                request.headers_mut().remove(header::ACCEPT);
            }
            match inner.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    })
}

impl TableauSim {
    /// Starts a simulator whose `serverinfo` answers XML only (see [`xml_only_serverinfo`]).
    pub async fn start_xml_only_serverinfo(config: SimConfig) -> anyhow::Result<TableauSim> {
        let bound = crate::sim::server::Bound::new("tableau").await?;
        let (inner, state) = app(config, bound.url())?;
        Ok(TableauSim {
            server: bound.serve(xml_only_serverinfo(inner)),
            state,
        })
    }
}

/// The hit log, even if a panicking request poisoned it.
fn hits(log: &Mutex<Vec<FrontDoorHit>>) -> std::sync::MutexGuard<'_, Vec<FrontDoorHit>> {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
