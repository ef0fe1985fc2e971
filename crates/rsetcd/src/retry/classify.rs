//! "Did this request leave?": the one classification of every failure, for both wires.
//!
//! - **HTTP/1.1** (v2): a request not written in full to the socket never reached a server that
//!   could act on it (etcd reads a whole request before acting); one written in full and then
//!   met by a reset, EOF, broken pipe or a cut answer was sent ([`Fate::Sent`]).
//! - **HTTP/2** (v3): a call the connection would not take (closing, or the connector failed)
//!   never left ([`NotSent`]); once handed to the connection it counts as sent, unless the server
//!   says it did not process the stream: a REFUSED_STREAM reset, or a GOAWAY whose last stream id
//!   is below the stream (h2 fails exactly those streams with the GOAWAY's error).
//! - **TLS**: a certificate refusal (during the handshake, or under TLS 1.3 just after it, before
//!   etcd reads the request) never reached etcd.
//! - **Answers**: what etcd's own error says ([`v2_answer`], [`v3_answer`]).

#[cfg(feature = "v3")]
use std::fmt;

use super::Fate;
#[cfg(feature = "v2")]
use crate::error::EtcdCode;
#[cfg(feature = "v3")]
use crate::error::{Error, V3ErrorKind};

/// Marks a lower layer's error that proves the request never left: the connector failed, or the
/// connection would not take the call. It travels inside boxed errors (tonic's statuses) to the
/// code that sorts failures.
#[cfg(feature = "v3")]
#[derive(Debug)]
pub(crate) struct NotSent(pub(crate) Error);

#[cfg(feature = "v3")]
impl fmt::Display for NotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(feature = "v3")]
impl std::error::Error for NotSent {}

/// What an `h2` error on a stream that was handed to the connection proves.
#[cfg(feature = "v3")]
pub(crate) fn h2_stream(err: &h2::Error) -> Fate {
    h2_fate(
        err.is_remote(),
        err.is_go_away(),
        err.is_reset().then(|| err.reason()).flatten(),
    )
}

/// [`h2_stream`] on the error's parts: who sent it, whether it is a GOAWAY, the reset's reason.
#[cfg(feature = "v3")]
fn h2_fate(remote: bool, go_away: bool, reset: Option<h2::Reason>) -> Fate {
    match (remote, go_away, reset) {
        // The server's GOAWAY reaches only the streams above its last stream id.
        (true, true, _) => Fate::NeverSent,
        (true, false, Some(h2::Reason::REFUSED_STREAM)) => Fate::NeverSent,
        _ => Fate::Sent,
    }
}

/// What a lower layer's error (a chain of sources, as tonic's statuses carry them) proves about
/// a call that was started.
#[cfg(feature = "v3")]
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> Fate {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<NotSent>().is_some() {
            return Fate::NeverSent;
        }
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            return h2_stream(h2);
        }
        if crate::tls::find_rustls(e).is_some_and(crate::tls::is_refusal) {
            return Fate::NeverSent;
        }
        next = e.source();
    }
    Fate::Sent
}

/// What an HTTP answer of etcd's v2 API proves (`None`: a success or a final answer).
#[cfg(feature = "v2")]
pub(crate) fn v2_answer(status: u16, code: Option<EtcdCode>) -> Option<Fate> {
    match status {
        ..=499 => None,
        // 300 "Raft Internal Error": the proposal timed out, and may still be applied.
        _ if code == Some(EtcdCode::RaftInternal) => Some(Fate::Undecided),
        _ => Some(Fate::ServerFailure),
    }
}

/// What a refusal of etcd's v3 API proves.
#[cfg(feature = "v3")]
pub(crate) fn v3_answer(kind: V3ErrorKind) -> Fate {
    if kind.not_applied() {
        Fate::Declined
    } else if kind.outcome_unknown() {
        Fate::Undecided
    } else {
        Fate::Final
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "v3")]
    use h2::Reason;

    #[cfg(feature = "v3")]
    #[test]
    fn only_the_servers_own_refusals_prove_a_stream_unprocessed() {
        assert_eq!(h2_fate(true, true, None), Fate::NeverSent);
        assert_eq!(
            h2_fate(true, false, Some(Reason::REFUSED_STREAM)),
            Fate::NeverSent
        );
        // A reset for another reason, our own library's reset or GOAWAY, or an I/O error
        // (broken pipe, EOF, reset by peer) after the stream was handed over: sent.
        assert_eq!(h2_fate(true, false, Some(Reason::CANCEL)), Fate::Sent);
        assert_eq!(
            h2_fate(true, false, Some(Reason::INTERNAL_ERROR)),
            Fate::Sent
        );
        assert_eq!(
            h2_fate(false, false, Some(Reason::REFUSED_STREAM)),
            Fate::Sent
        );
        assert_eq!(h2_fate(false, true, None), Fate::Sent);
        assert_eq!(h2_fate(false, false, None), Fate::Sent);
        assert_eq!(
            h2_stream(&h2::Error::from(Reason::REFUSED_STREAM)),
            Fate::Sent
        );
    }

    #[cfg(feature = "v3")]
    #[test]
    fn a_chain_is_read_down_to_what_it_proves() {
        let not_sent = NotSent(Error::connect("http://a:1", "refused"));
        assert_eq!(chain(&not_sent), Fate::NeverSent);
        let status = tonic::Status::from_error(Box::new(NotSent(Error::Config("x".into()))));
        assert_eq!(chain(&status), Fate::NeverSent);
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(
            chain(&pipe),
            Fate::Sent,
            "a broken pipe after the call left"
        );
        let h2_reset = tonic::Status::from_error(Box::new(h2::Error::from(Reason::CANCEL)));
        assert_eq!(chain(&h2_reset), Fate::Sent);
        #[cfg(feature = "tls")]
        {
            let refused =
                rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired);
            assert_eq!(chain(&refused), Fate::NeverSent);
            let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, refused);
            assert_eq!(chain(&wrapped), Fate::NeverSent);
            let other = rustls::Error::AlertReceived(rustls::AlertDescription::DecodeError);
            assert_eq!(chain(&other), Fate::Sent);
        }
    }

    #[cfg(feature = "v2")]
    #[test]
    fn v2_answers() {
        assert_eq!(v2_answer(200, None), None);
        assert_eq!(v2_answer(404, Some(EtcdCode::KeyNotFound)), None);
        assert_eq!(v2_answer(412, Some(EtcdCode::TestFailed)), None);
        assert_eq!(
            v2_answer(500, Some(EtcdCode::RaftInternal)),
            Some(Fate::Undecided)
        );
        assert_eq!(
            v2_answer(500, Some(EtcdCode::LeaderElect)),
            Some(Fate::ServerFailure)
        );
        assert_eq!(v2_answer(503, None), Some(Fate::ServerFailure));
    }

    #[cfg(feature = "v3")]
    #[test]
    fn v3_answers() {
        assert_eq!(v3_answer(V3ErrorKind::NoLeader), Fate::Declined);
        assert_eq!(
            v3_answer(V3ErrorKind::NotSupportedForLearner),
            Fate::Declined
        );
        assert_eq!(v3_answer(V3ErrorKind::RequestTimedOut), Fate::Undecided);
        assert_eq!(v3_answer(V3ErrorKind::Stopped), Fate::Undecided);
        assert_eq!(v3_answer(V3ErrorKind::LeaderChanged), Fate::Undecided);
        // An Unavailable status without etcd's words: nothing proves it was not passed on.
        assert_eq!(v3_answer(V3ErrorKind::Unavailable), Fate::Undecided);
        assert_eq!(v3_answer(V3ErrorKind::PermissionDenied), Fate::Final);
        assert_eq!(v3_answer(V3ErrorKind::Compacted), Fate::Final);
    }
}
