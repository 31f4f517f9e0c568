//! A throw-away certificate authority and a server certificate signed by it,
//! made with the `openssl` command, so TLS tests can use
//! `sslmode=verify-full sslrootcert=<ca.crt>` against host `localhost` (or
//! 127.0.0.1). Keys are ECDSA P-256 (fast to generate, accepted by OpenSSL
//! and rustls alike).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use super::{ScratchDir, chown_to_server_user, run, scratch_dir};

/// Files in a scratch directory (removed on drop), owned by the server user
/// when root so the server and `psql` running as that user can read them:
///
/// * `ca.crt` / `ca.key`: the CA (CN "cutover test CA"), valid 10 years;
/// * `server.crt` / `server.key`: CN `localhost`, SAN `DNS:localhost`,
///   `IP:127.0.0.1`, `IP:::1`, extended key usage serverAuth. `server.key`
///   is mode 0600 (PostgreSQL refuses group- or world-readable keys).
#[derive(Debug)]
pub struct Certs {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    scratch: ScratchDir,
}

impl Certs {
    /// Generate a fresh CA and server certificate (~50 ms). Panics, telling
    /// how to install it, when `openssl` is missing.
    pub fn generate() -> Certs {
        let openssl = openssl();
        let scratch = scratch_dir("cutover-certs-");
        let dir = scratch.path().to_path_buf();
        let certs = Certs {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            dir,
            scratch,
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        run(Command::new(&openssl)
            .current_dir(&certs.dir)
            .args(["req", "-x509"])
            .args(ec)
            .args(["-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/CN=cutover test CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]));
        run(Command::new(&openssl).current_dir(&certs.dir).arg("req").args(ec).args([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]));
        std::fs::write(
            certs.dir.join("server.ext"),
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1\n\
             subjectKeyIdentifier = hash\n\
             authorityKeyIdentifier = keyid\n",
        )
        .expect("write server.ext");
        run(Command::new(&openssl).current_dir(&certs.dir).args([
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "3650",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ]));
        for (file, mode) in
            [(&certs.ca_cert, 0o644), (&certs.server_cert, 0o644), (&certs.ca_key, 0o600), (&certs.server_key, 0o600)]
        {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        chown_to_server_user(&certs.dir);
        certs
    }

    /// The server certificate and key, for [`super::pg::ClusterOptions::tls`].
    pub fn server_files(&self) -> super::pg::TlsFiles {
        super::pg::TlsFiles { cert: self.server_cert.clone(), key: self.server_key.clone() }
    }
}

/// The `openssl` command; panics with install instructions when missing.
fn openssl() -> PathBuf {
    let found = super::find_on_path("openssl", &["/usr/bin", "/usr/local/bin"]);
    found
        .filter(|path| Command::new(path).arg("version").output().is_ok_and(|out| out.status.success()))
        .unwrap_or_else(|| {
            panic!(
                "the `openssl` command is needed to make TLS certificates for the database tests. Install it \
                 (Debian/Ubuntu: `apt-get install openssl`) and run again."
            )
        })
}
