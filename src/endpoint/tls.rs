//! TLS for PostgreSQL connections, with libpq's `sslmode` semantics, on rustls
//! and its `ring` provider (chosen explicitly, so no process-wide default
//! provider has to be installed).
//!
//! | `sslmode`                    | what is checked                                                     |
//! |------------------------------|---------------------------------------------------------------------|
//! | `disable`                    | nothing: TLS is not used (the connector is built but never called)  |
//! | `allow`, `prefer`, `require` | encryption only — **unless a root certificate file is present**     |
//! |                              | (`sslrootcert`, or `~/.postgresql/root.crt`), in which case the     |
//! |                              | chain is verified as with `verify-ca` (libpq does the same)         |
//! | `verify-ca`                  | the chain against the roots, not the host name                      |
//! | `verify-full`                | the chain and the host name                                         |
//!
//! Roots: `sslrootcert` (a PEM file, possibly several certificates), else
//! `~/.postgresql/root.crt` if it exists, else the system's roots. Unlike
//! libpq, which refuses `verify-ca`/`verify-full` without a root file, we fall
//! back to the system roots. `sslrootcert=system` asks for the system roots
//! explicitly (as in libpq 16+).
//!
//! Every handshake offers the ALPN protocol `postgresql`, as libpq 17 does
//! (PostgreSQL 17's direct TLS negotiation needs it; older servers ignore it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::inventory::tls::{SYSTEM_ROOTS, SslMode, TlsOptions};

/// Build the tokio-postgres TLS connector for these options.
///
/// # Errors
/// A root certificate file that is missing, unreadable or holds no valid
/// certificate (the message names the file), or no usable system roots when
/// they are needed.
pub fn make_connect(opts: &TlsOptions) -> Result<MakeRustlsConnect> {
    let default_root = default_root_cert(|key| std::env::var_os(key).map(PathBuf::from));
    Ok(MakeRustlsConnect::new(client_config(opts, default_root.as_deref())?))
}

/// libpq's default root certificate file: `~/.postgresql/root.crt`
/// (`%APPDATA%\postgresql\root.crt` on Windows), whether or not it exists.
pub fn default_root_cert(env: impl Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    if cfg!(windows) {
        env("APPDATA").map(|dir| dir.join("postgresql").join("root.crt"))
    } else {
        env("HOME").filter(|home| !home.as_os_str().is_empty()).map(|home| home.join(".postgresql").join("root.crt"))
    }
}

/// Where the trusted roots come from.
enum Roots<'a> {
    File(&'a Path),
    System,
}

/// The rustls client configuration for `opts`; `default_root` is the
/// `~/.postgresql/root.crt` candidate (used only if it exists).
fn client_config(opts: &TlsOptions, default_root: Option<&Path>) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match opts.root_cert.as_deref() {
        Some(path) if path == Path::new(SYSTEM_ROOTS) => Some(Roots::System),
        Some(path) => Some(Roots::File(path)),
        None => default_root.filter(|path| path.is_file()).map(Roots::File),
    };
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = match (opts.mode, roots) {
        (SslMode::Disable, _) | (SslMode::Allow | SslMode::Prefer | SslMode::Require, None) => {
            Arc::new(Lenient { chain: None, algorithms })
        }
        (SslMode::Allow | SslMode::Prefer | SslMode::Require | SslMode::VerifyCa, roots) => {
            let store = load_roots(roots.unwrap_or(Roots::System))?;
            Arc::new(Lenient { chain: Some(webpki_verifier(store, &provider)?), algorithms })
        }
        (SslMode::VerifyFull, roots) => webpki_verifier(load_roots(roots.unwrap_or(Roots::System))?, &provider)?,
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .wrap_err("the TLS provider supports no safe protocol version")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(config)
}

fn webpki_verifier(store: RootCertStore, provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), Arc::clone(provider))
        .build()
        .map_err(|e| eyre!("cannot build the certificate verifier: {e}"))
}

fn load_roots(roots: Roots<'_>) -> Result<RootCertStore> {
    match roots {
        Roots::File(path) => load_root_file(path),
        Roots::System => load_system_roots(),
    }
}

/// Every certificate of a PEM file, each one required to parse.
fn load_root_file(path: &Path) -> Result<RootCertStore> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| eyre!("root certificate file {shown}: {e}"))?;
    let mut store = RootCertStore::empty();
    for (index, cert) in certs.enumerate() {
        let cert = cert.map_err(|e| eyre!("root certificate file {shown}: {e}"))?;
        store.add(cert).map_err(|e| eyre!("root certificate file {shown}: certificate #{}: {e}", index + 1))?;
    }
    if store.is_empty() {
        bail!("root certificate file {shown}: no certificate found (expected PEM \"BEGIN CERTIFICATE\" blocks)");
    }
    Ok(store)
}

fn load_system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (_added, _unparsable) = store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        let why: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
        let why = if why.is_empty() { "none found".to_string() } else { why.join("; ") };
        bail!("no system root certificates could be loaded ({why}); give sslrootcert=/path/to/root.crt");
    }
    Ok(store)
}

/// Less than the full WebPKI verification. `require` without roots (`chain`
/// `None`): any certificate is accepted. `verify-ca`: the chain is verified,
/// but a certificate issued for another name is accepted (rustls checks the
/// chain and validity dates before the name, so a name error means the chain
/// was good). Either way the handshake signatures are checked, so the session
/// is bound to the certificate's key.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

/// Whether a handshake signature is good.
type Signed = Result<HandshakeSignatureValid, rustls::Error>;

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    // As the WebPKI verifier checks them, with the same provider's algorithms.
    fn verify_tls12_signature(&self, msg: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Signed {
        rustls::crypto::verify_tls12_signature(msg, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(&self, msg: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Signed {
        rustls::crypto::verify_tls13_signature(msg, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Write;

    use rustls::{ClientConnection, ServerConfig, ServerConnection};
    use rustls_pki_types::PrivateKeyDer;

    // Throwaway test material, valid 2000-01-01 .. 2099-12-31 (made with
    // `openssl ca`): a CA, a server certificate it issued for DNS:db.test, the
    // server's P-256 key, and an unrelated CA.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBZzCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9jdXRvdmVy
IHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjA5OTEyMzEyMzU5NTlaMBoxGDAW
BgNVBAMMD2N1dG92ZXIgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA
BNsl2JIfLHCY+ReD+ZcMQiJC1usfCaVGUBRJLymRTG9SDak3uBZ79rLIwFR9hmW5
xGrr3evmp0icl8u5QVGDHfWjQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/
BAQDAgEGMB0GA1UdDgQWBBRThGCkdFZb94cXTgVvYSe6038F9TAKBggqhkjOPQQD
AgNIADBFAiASrHDPXx001BPvjU+a04m2GBhZZqlyA7GalqYHyEfNgQIhAPb99tu3
BN3V5st7XacAmNaTzEEa9AqaQAvgyslvDMJv
-----END CERTIFICATE-----
";
    const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBaDCCAQ+gAwIBAgIBAjAKBggqhkjOPQQDAjAbMRkwFwYDVQQDDBBjdXRvdmVy
IG90aGVyIENBMCAXDTAwMDEwMTAwMDAwMFoYDzIwOTkxMjMxMjM1OTU5WjAbMRkw
FwYDVQQDDBBjdXRvdmVyIG90aGVyIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcD
QgAEddSN6iVIdUsnR1u+DUdTk2tRRg1blqe+S187ssukmcqT8ywnK/yCcL8MFym1
P8eR5oZ902uISjxuJt7+yNm9iaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B
Af8EBAMCAQYwHQYDVR0OBBYEFD4zlRmg+f08/wWqkOH0pNT8Tae7MAoGCCqGSM49
BAMCA0cAMEQCIColGJ7ruSK1fsGDxb3fsKx7OVToLERqlWhOiJbXVEYGAiBmUXSp
VCfO4FvEtwApH1jPehmUfsZFaE2t6alH0J2LYw==
-----END CERTIFICATE-----
";
    const SERVER_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBqDCCAU6gAwIBAgIBAzAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9jdXRvdmVy
IHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjA5OTEyMzEyMzU5NTlaMBIxEDAO
BgNVBAMMB2RiLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASzeotWPSDw
PEyJFUKDWyJn7DLbEBnS6jK8JiIpPbw7rldIxq5NWdmyBWGUou8OylGASvraOxNj
CfzBGlSCF9lHo4GKMIGHMAwGA1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMG
A1UdJQQMMAoGCCsGAQUFBwMBMBIGA1UdEQQLMAmCB2RiLnRlc3QwHQYDVR0OBBYE
FISwH9rBeubSmTMSfIFyyvOKe7e5MB8GA1UdIwQYMBaAFFOEYKR0Vlv3hxdOBW9h
J7rTfwX1MAoGCCqGSM49BAMCA0gAMEUCIQCzaWnq8sHqo0rXNz0QE0U3+/+z/zul
TEzdyJl90+ERTgIgb+g/EL+ZV4MHY7cN+MmJJrBkPaXM1fTBhIqW862W5PU=
-----END CERTIFICATE-----
";
    const SERVER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRGMcbq4gN9XEV1QN
42FnfICyjBuD/ohk3igxHLOO4wuhRANCAASzeotWPSDwPEyJFUKDWyJn7DLbEBnS
6jK8JiIpPbw7rldIxq5NWdmyBWGUou8OylGASvraOxNjCfzBGlSCF9lH
-----END PRIVATE KEY-----
";

    fn pem_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(text.as_bytes()).unwrap();
        path
    }

    fn opts(mode: SslMode, root_cert: Option<&Path>) -> TlsOptions {
        TlsOptions { mode, root_cert: root_cert.map(Path::to_path_buf) }
    }

    /// Run a whole handshake in memory against a server presenting
    /// `SERVER_CERT` (issued by `CA` for `db.test`), connecting as `name`.
    fn handshake(config: ClientConfig, name: &str, tls12_only: bool) -> Result<(), rustls::Error> {
        let cert = CertificateDer::from_pem_slice(SERVER_CERT.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
        let builder = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()));
        let builder = if tls12_only {
            builder.with_protocol_versions(&[&rustls::version::TLS12]).unwrap()
        } else {
            builder.with_safe_default_protocol_versions().unwrap()
        };
        let server_config = builder.with_no_client_auth().with_single_cert(vec![cert], key).unwrap();
        let mut server = ServerConnection::new(Arc::new(server_config)).unwrap();
        let name = ServerName::try_from(name.to_string()).unwrap();
        let mut client = ClientConnection::new(Arc::new(config), name).unwrap();
        for _ in 0..20 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets()?;
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets()?;
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
        }
        panic!("handshake did not finish");
    }

    #[test]
    fn make_connect_builds_for_every_mode_with_a_root_file() {
        let dir = tempfile::tempdir().unwrap();
        let ca = pem_file(&dir, "ca.pem", &format!("{CA}{OTHER_CA}"));
        for mode in SslMode::ALL {
            make_connect(&opts(mode, Some(&ca))).unwrap();
            client_config(&opts(mode, Some(&ca)), None).unwrap();
        }
    }

    #[test]
    fn modes_without_verification_need_no_roots() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("root.crt");
        for mode in [SslMode::Disable, SslMode::Allow, SslMode::Prefer, SslMode::Require] {
            let config = client_config(&opts(mode, None), Some(&absent)).unwrap();
            assert_eq!(config.alpn_protocols, vec![b"postgresql".to_vec()]);
        }
    }

    #[test]
    fn missing_root_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.crt");
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            let err = make_connect(&opts(mode, Some(&missing))).err().unwrap().to_string();
            assert!(err.contains(&missing.display().to_string()), "{err}");
        }
    }

    #[test]
    fn root_file_without_certificates_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = pem_file(&dir, "empty.crt", "just some text\n");
        let err = client_config(&opts(SslMode::VerifyFull, Some(&empty)), None).err().unwrap().to_string();
        assert!(err.contains("empty.crt") && err.contains("no certificate"), "{err}");
        let key_only = pem_file(&dir, "key.pem", SERVER_KEY);
        let err = client_config(&opts(SslMode::VerifyCa, Some(&key_only)), None).err().unwrap().to_string();
        assert!(err.contains("key.pem"), "{err}");
    }

    #[test]
    fn corrupt_root_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let broken =
            pem_file(&dir, "broken.crt", "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n");
        let err = client_config(&opts(SslMode::VerifyCa, Some(&broken)), None).err().unwrap().to_string();
        assert!(err.contains("broken.crt"), "{err}");
        let garbage = pem_file(&dir, "garbage.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let err = client_config(&opts(SslMode::VerifyCa, Some(&garbage)), None).err().unwrap().to_string();
        assert!(err.contains("garbage.crt") && err.contains("#1"), "{err}");
    }

    #[test]
    fn require_without_roots_accepts_any_certificate() {
        for tls12 in [false, true] {
            let config = client_config(&opts(SslMode::Require, None), None).unwrap();
            handshake(config, "some.other.name", tls12).unwrap();
        }
    }

    /// A directory holding `CA` and `OTHER_CA` as root files.
    fn root_files() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (ca, other) = (pem_file(&dir, "ca.pem", CA), pem_file(&dir, "other.pem", OTHER_CA));
        (dir, ca, other)
    }

    /// A handshake as `name` by a client in `mode` trusting the roots of `root`.
    fn connect(mode: SslMode, root: &Path, name: &str, tls12_only: bool) -> Result<(), rustls::Error> {
        handshake(client_config(&opts(mode, Some(root)), None).unwrap(), name, tls12_only)
    }

    fn is_unknown_issuer(err: &rustls::Error) -> bool {
        matches!(err, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
    }

    #[test]
    fn verify_ca_checks_the_chain_but_not_the_name() {
        let (_dir, ca, other) = root_files();
        for tls12 in [false, true] {
            connect(SslMode::VerifyCa, &ca, "db.test", tls12).unwrap();
            connect(SslMode::VerifyCa, &ca, "elsewhere", tls12).unwrap();
            let err = connect(SslMode::VerifyCa, &other, "db.test", tls12).unwrap_err();
            assert!(is_unknown_issuer(&err), "{err:?}");
        }
    }

    #[test]
    fn verify_full_checks_chain_and_name() {
        let (_dir, ca, other) = root_files();
        connect(SslMode::VerifyFull, &ca, "db.test", false).unwrap();
        let err = connect(SslMode::VerifyFull, &ca, "elsewhere", false).unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{err:?}"
        );
        let err = connect(SslMode::VerifyFull, &other, "db.test", false).unwrap_err();
        assert!(is_unknown_issuer(&err), "{err:?}");
    }

    #[test]
    fn require_with_a_default_root_file_verifies_like_libpq() {
        let dir = tempfile::tempdir().unwrap();
        let other = pem_file(&dir, "root.crt", OTHER_CA);
        let config = client_config(&opts(SslMode::Require, None), Some(&other)).unwrap();
        assert!(handshake(config, "db.test", false).is_err());
        let ca = pem_file(&dir, "ca.crt", CA);
        // Only the chain, not the name, as with verify-ca.
        let config = client_config(&opts(SslMode::Require, None), Some(&ca)).unwrap();
        handshake(config, "elsewhere", false).unwrap();
        // An explicit sslrootcert beats the default file.
        let config = client_config(&opts(SslMode::Require, Some(&ca)), Some(&other)).unwrap();
        handshake(config, "db.test", false).unwrap();
    }

    #[test]
    fn default_root_cert_location() {
        let home = |key: &str| (key == "HOME" || key == "APPDATA").then(|| PathBuf::from("/home/op"));
        let path = default_root_cert(home).unwrap();
        assert!(path.ends_with("root.crt"), "{}", path.display());
        assert!(path.starts_with("/home/op"), "{}", path.display());
        assert_eq!(default_root_cert(|_| None), None);
    }
}
