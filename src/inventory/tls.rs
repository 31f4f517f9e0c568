//! libpq's TLS settings as a connection string gives them (`sslmode`,
//! `sslrootcert`): what [`super::dsn`] parses and the endpoint's TLS
//! connector (`crate::endpoint::tls`) acts on.

use std::path::PathBuf;

/// The `sslrootcert` value that means "the system's trusted roots" (libpq 16+).
pub const SYSTEM_ROOTS: &str = "system";

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// libpq tries without TLS first; tokio-postgres has no such mode, so this
    /// is sent as `prefer` (TLS if the server offers it).
    Allow,
    /// TLS if the server offers it, plain otherwise.
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not checked unless a root
    /// certificate file is present.
    Require,
    /// TLS, with the chain verified against the roots.
    VerifyCa,
    /// TLS, with the chain and the host name verified.
    VerifyFull,
}

impl SslMode {
    /// Every mode, in libpq's order.
    pub const ALL: [SslMode; 6] =
        [SslMode::Disable, SslMode::Allow, SslMode::Prefer, SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull];

    /// The libpq spelling (`verify-full`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Parse the libpq spelling; `None` for anything else.
    #[must_use]
    pub fn parse(text: &str) -> Option<SslMode> {
        SslMode::ALL.into_iter().find(|mode| mode.as_str() == text)
    }

    /// The mode tokio-postgres is told: it only knows disable / prefer /
    /// require; the verifying is done by our connector.
    #[must_use]
    pub fn to_tokio(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as T;
        match self {
            SslMode::Disable => T::Disable,
            SslMode::Allow | SslMode::Prefer => T::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => T::Require,
        }
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the TLS connector should do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// libpq's `sslmode`.
    pub mode: SslMode,
    /// libpq's `sslrootcert`: a PEM file of trusted roots, or [`SYSTEM_ROOTS`].
    pub root_cert: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_mode() {
        for mode in SslMode::ALL {
            assert_eq!(SslMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(SslMode::parse("verify_full"), None);
        assert_eq!(SslMode::default(), SslMode::Prefer);
        assert_eq!(SslMode::VerifyFull.to_string(), "verify-full");
    }

    #[test]
    fn tokio_side_only_knows_three_modes() {
        use tokio_postgres::config::SslMode as T;
        assert_eq!(SslMode::Disable.to_tokio(), T::Disable);
        assert_eq!(SslMode::Allow.to_tokio(), T::Prefer);
        assert_eq!(SslMode::Prefer.to_tokio(), T::Prefer);
        assert_eq!(SslMode::Require.to_tokio(), T::Require);
        assert_eq!(SslMode::VerifyCa.to_tokio(), T::Require);
        assert_eq!(SslMode::VerifyFull.to_tokio(), T::Require);
    }
}
