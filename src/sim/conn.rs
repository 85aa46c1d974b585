//! TCP connections that a handler can kill, for the simulators' connection-reset faults. A handler
//! cannot reach the socket through axum, so each accepted stream carries a kill switch that is also
//! handed to the handler as `ConnectInfo`; once it is thrown, the next read or write fails, hyper
//! drops the connection without writing a response, and the socket closes with a TCP reset (zero
//! linger).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The kill switch of one connection.
#[derive(Clone, Debug, Default)]
pub(super) struct ConnKill(Arc<AtomicBool>);

impl ConnKill {
    /// The kill switch of the connection a request came on (`None` off a killable listener).
    pub(super) fn of(request: &axum::extract::Request) -> Option<ConnKill> {
        request
            .extensions()
            .get::<axum::extract::ConnectInfo<ConnKill>>()
            .map(|info| info.0.clone())
    }

    pub(super) fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_killed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.io().kill.clone()
    }
}

/// A TCP listener whose streams carry a [`ConnKill`].
pub(super) struct KillableListener(pub(super) TcpListener);

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    // Small JSON answers: don't let Nagle add 40 ms to every round trip.
                    let _ = stream.set_nodelay(true);
                    let io = KillableStream {
                        inner: stream,
                        kill: ConnKill::default(),
                    };
                    return (io, addr);
                }
                // Typically EMFILE under a load test: wait for descriptors to come back.
                Err(error) => {
                    tracing::debug!(%error, "sim: accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A TCP stream that fails every operation once its kill switch is thrown.
pub(super) struct KillableStream {
    inner: TcpStream,
    kill: ConnKill,
}

impl KillableStream {
    /// Err once killed; also arms SO_LINGER=0 so dropping the socket sends RST instead of FIN.
    fn check(&self) -> io::Result<()> {
        if self.kill.is_killed() {
            let _ = self.inner.set_zero_linger();
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset by the simulator",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
