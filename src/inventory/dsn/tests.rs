//! The connection-string parser's tests: both spellings, libpq's defaults
//! and environment, TLS keys, refused and ignored keys, error messages.

use super::*;

use tokio_postgres::config::Host;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
    move |key| vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Only the OS user is set: everything else must come from the string.
fn bare(text: &str) -> Result<Dsn, String> {
    parse_with_env(text, env(&[("USER", "osuser")]))
}

#[test]
fn keyword_form() {
    let dsn = bare("host=db1 port=5433 user=cutover dbname=app sslmode=require").unwrap();
    assert_eq!((dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()), ("db1", 5433, "cutover", "app"));
    assert_eq!(dsn.tls, TlsOptions { mode: SslMode::Require, root_cert: None });
    assert_eq!(dsn.password(), None);
    assert_eq!(dsn.config.get_hosts(), &[Host::Tcp("db1".to_string())]);
    assert_eq!(dsn.config.get_ports(), &[5433]);
    assert_eq!(dsn.config.get_user(), Some("cutover"));
    assert_eq!(dsn.config.get_dbname(), Some("app"));
    assert_eq!(dsn.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
    assert_eq!(dsn.config.get_application_name(), Some("cutover"));
    assert_eq!(dsn.config.get_connect_timeout(), None, "the endpoint's CONNECT_TIMEOUT limits the whole connection");
}

#[test]
fn quotes_escapes_and_spaces_around_equals() {
    let dsn =
        bare(r"  host = db1   password='it\'s a \\ secret'  dbname='my db' user=us\ er application_name=''").unwrap();
    assert_eq!(dsn.host, "db1");
    assert_eq!(dsn.password(), Some(r"it's a \ secret"));
    assert_eq!(dsn.config.get_password(), Some(r"it's a \ secret".as_bytes()));
    assert_eq!(dsn.dbname, "my db");
    assert_eq!(dsn.user, "us er");
    assert_eq!(dsn.config.get_application_name(), Some(""));
}

#[test]
fn keyword_syntax_errors() {
    assert!(bare("host=db1 port").unwrap_err().contains("`port`"));
    assert!(bare("host=").unwrap_err().contains("missing value for `host`"));
    assert!(bare("host='db1").unwrap_err().contains("unterminated"));
    assert!(bare("=db1").unwrap_err().contains("without a key"));
    assert!(bare("mydb").unwrap_err().contains("key=value"));
    let err = bare("host=db1 password=hunter 2 dbname=x").unwrap_err();
    assert!(!err.contains("hunter") && !err.contains('2'), "{err}");
    let err = bare("password='hunter2").unwrap_err();
    assert!(err.contains("password") && !err.contains("hunter2"), "{err}");
}

#[test]
fn later_keys_override_earlier_ones() {
    let dsn = bare("host=a host=b").unwrap();
    assert_eq!(dsn.host, "b");
}

#[test]
fn url_form_with_percent_encoded_password() {
    let dsn = bare("postgres://cut%20over:p%40ss%3Aw%2Fo%25rd@db1.example:6432/app%2Fdb?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        .unwrap();
    assert_eq!(dsn.user, "cut over");
    assert_eq!(dsn.password(), Some("p@ss:w/o%rd"));
    assert_eq!(dsn.host, "db1.example");
    assert_eq!(dsn.port, 6432);
    assert_eq!(dsn.dbname, "app/db");
    assert_eq!(dsn.tls, TlsOptions { mode: SslMode::VerifyFull, root_cert: Some(PathBuf::from("/etc/ca.pem")) });
    assert_eq!(dsn.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
}

#[test]
fn url_variants() {
    let dsn = bare("postgresql://").unwrap();
    assert_eq!(
        (dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()),
        ("localhost", 5432, "osuser", "osuser")
    );
    let dsn = bare("postgresql://[::1]:5433/app").unwrap();
    assert_eq!((dsn.host.as_str(), dsn.port), ("::1", 5433));
    let dsn = bare("postgres://u@h").unwrap();
    assert_eq!((dsn.user.as_str(), dsn.password(), dsn.host.as_str()), ("u", None, "h"));
    // An unescaped '@' in the password: the last '@' ends the user info.
    let dsn = bare("postgres://u:p@ss@h/db").unwrap();
    assert_eq!((dsn.password(), dsn.host.as_str()), (Some("p@ss"), "h"));
    let dsn = bare("postgres://h/db?ssl=true&application_name=probe&").unwrap();
    assert_eq!(dsn.tls.mode, SslMode::Require);
    assert_eq!(dsn.config.get_application_name(), Some("probe"));
    #[cfg(unix)]
    {
        let dsn = bare("postgresql://%2Fvar%2Frun%2Fpostgresql/app?sslmode=require").unwrap();
        assert_eq!(dsn.host, "/var/run/postgresql");
        assert_eq!(dsn.config.get_hosts(), &[Host::Unix(PathBuf::from("/var/run/postgresql"))]);
        // libpq never uses TLS through a socket.
        assert_eq!(dsn.config.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
        let dsn = bare("postgresql:///app?host=/tmp").unwrap();
        assert_eq!((dsn.host.as_str(), dsn.dbname.as_str()), ("/tmp", "app"));
    }
}

#[test]
fn url_errors_never_show_the_password() {
    for text in [
        "postgres://u:hunter%zz@h/db",
        "postgres://u:hunter%FF@h/db",
        "postgres://u:hun/ter@h/db",
        "postgres://u:hun?ter@h/db",
    ] {
        let err = bare(text).unwrap_err();
        assert!(!err.contains("hunter") && !err.contains("ter@"), "{text}: {err}");
    }
    assert!(bare("postgres://a,b/db").unwrap_err().contains("one host"));
    assert!(bare("postgres://h:abc/db").unwrap_err().contains("`abc`"));
    assert!(bare("postgres://h/db?sslmode").unwrap_err().contains("`sslmode` has no value"));
    assert!(bare("postgres://[::1/db").unwrap_err().contains(']'));
    let err = bare("postgres://h/db?password=%GG").unwrap_err();
    assert!(err.contains("password") && !err.contains("GG"), "{err}");
}

#[test]
fn masked_and_debug_never_show_the_password() {
    let mut dsn = bare("host=db1 user=cutover dbname=app password=hunter2 sslrootcert='/my certs/ca.pem'").unwrap();
    let masked = dsn.masked();
    assert_eq!(
        masked,
        "host=db1 port=5432 user=cutover dbname=app sslmode=prefer sslrootcert='/my certs/ca.pem' password=******"
    );
    let debug = format!("{dsn:?} {dsn:#?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains(MASK), "{debug}");
    dsn.set_password("swordfish");
    assert_eq!(dsn.password(), Some("swordfish"));
    assert_eq!(dsn.config.get_password(), Some("swordfish".as_bytes()));
    assert!(!dsn.masked().contains("swordfish"));
    assert!(!format!("{dsn:?}").contains("swordfish"));

    let dsn = bare("host=db1").unwrap();
    assert!(!dsn.masked().contains("password"), "{}", dsn.masked());
    assert!(format!("{dsn:?}").contains("password: None"));
    let dsn = bare("host=db1 password=''").unwrap();
    assert_eq!(dsn.password(), None);
}

#[test]
fn masked_quotes_what_needs_it() {
    let dsn = bare(r"host=db1 user='o\'brien' dbname='a b'").unwrap();
    assert_eq!(dsn.masked(), r"host=db1 port=5432 user='o\'brien' dbname='a b' sslmode=prefer");
    // And it parses back to the same thing.
    let again = bare(&dsn.masked()).unwrap();
    assert_eq!((again.user, again.dbname), (dsn.user, dsn.dbname));
}

#[test]
fn keys_tokio_postgres_does_not_know() {
    let dsn = bare("host=h sslrootcert=/ca.pem passfile=/run/pgpass sslcompression=0 krbsrvname=postgres gssencmode=disable client_encoding=UTF8 ssl_min_protocol_version=TLSv1.2")
        .unwrap();
    assert_eq!(dsn.tls.root_cert, Some(PathBuf::from("/ca.pem")));
    assert_eq!(dsn.passfile, Some(PathBuf::from("/run/pgpass")));
    assert_eq!(
        dsn.ignored,
        ["client_encoding", "gssencmode", "krbsrvname", "ssl_min_protocol_version", "sslcompression"]
    );
    for (text, needle) in [
        ("host=h sslcert=/c.pem", "`sslcert`: client certificates"),
        ("host=h sslkey=/k.pem", "`sslkey`: client certificates"),
        ("host=h sslcrl=/crl.pem", "revocation"),
        ("host=h service=prod", "pg_service.conf"),
        ("host=h gssencmode=require", "GSSAPI"),
        ("host=h client_encoding=LATIN1", "UTF8"),
        ("host=h target_session_attrs=primary", "`primary`"),
        ("host=h require_auth=scram-sha-256", "`require_auth`"),
    ] {
        let err = bare(text).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
    }
    let err = bare("host=h frobnicate=topsecret").unwrap_err();
    assert!(err.contains("unknown connection parameter `frobnicate`") && !err.contains("topsecret"), "{err}");
    let err = bare("host=h sslpassword=topsecret").unwrap_err();
    assert!(!err.contains("topsecret"), "{err}");
}

#[test]
fn tokio_keys_are_passed_on() {
    let dsn = bare("host=h connect_timeout=12 keepalives=0 keepalives_idle=30 keepalives_interval=5 keepalives_count=3 tcp_user_timeout=1500 target_session_attrs=read-write channel_binding=require options='-c statement_timeout=5s' hostaddr=10.0.0.7")
        .unwrap();
    let c = &dsn.config;
    assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(12)));
    assert!(!c.get_keepalives());
    assert_eq!(c.get_keepalives_idle(), Duration::from_secs(30));
    assert_eq!(c.get_keepalives_interval(), Some(Duration::from_secs(5)));
    assert_eq!(c.get_keepalives_retries(), Some(3));
    assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_millis(1500)));
    assert_eq!(c.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
    assert_eq!(c.get_channel_binding(), ChannelBinding::Require);
    assert_eq!(c.get_options(), Some("-c statement_timeout=5s"));
    assert_eq!(c.get_hostaddrs(), &["10.0.0.7".parse::<IpAddr>().unwrap()]);
    assert_eq!(c.get_hosts(), &[Host::Tcp("h".to_string())]);
    assert!(dsn.masked().contains("hostaddr=10.0.0.7"));

    assert_eq!(bare("host=h connect_timeout=0").unwrap().config.get_connect_timeout(), None);
    assert!(bare("host=h connect_timeout=soon").unwrap_err().contains("`connect_timeout`: `soon`"));
    let dsn = bare("hostaddr=10.0.0.7").unwrap();
    assert_eq!(dsn.host, "10.0.0.7");
    assert!(dsn.config.get_hosts().is_empty());
    assert!(bare("hostaddr=10.0.0.7 sslmode=verify-full").unwrap_err().contains("needs host="));
    assert!(bare("hostaddr=db1").unwrap_err().contains("`hostaddr`: `db1`"));
}

#[test]
fn application_name_precedence() {
    let name = |text: &str| bare(text).unwrap().config.get_application_name().map(str::to_string);
    assert_eq!(name("host=h").as_deref(), Some("cutover"));
    assert_eq!(name("host=h fallback_application_name=fb").as_deref(), Some("fb"));
    assert_eq!(name("host=h fallback_application_name=fb application_name=app").as_deref(), Some("app"));
}

#[test]
fn bad_port_is_a_clear_error() {
    for (text, needle) in [
        ("host=h port=abc", "`port`: `abc` is not a port number"),
        ("host=h port=70000", "`70000`"),
        ("host=h port=0", "`0`"),
        ("host=h port=5432,5433", "several ports"),
        ("postgres://h:99999/db", "`99999`"),
    ] {
        let err = bare(text).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
    }
    let err = parse_with_env("host=h", env(&[("USER", "u"), ("PGPORT", "x1")])).unwrap_err();
    assert!(err.contains("PGPORT"), "{err}");
}

#[test]
fn host_lists_are_refused() {
    assert!(bare("host=a,b").unwrap_err().contains("one host per endpoint"));
    assert!(parse_with_env("", env(&[("USER", "u"), ("PGHOST", "a,b")])).unwrap_err().contains("PGHOST"));
    assert!(bare("host= port=5432").unwrap_err().contains("host=''"));
}

#[test]
fn env_defaults_only_where_missing() {
    let vars = env(&[
        ("PGHOST", "envhost"),
        ("PGPORT", "6000"),
        ("PGUSER", "envuser"),
        ("PGDATABASE", "envdb"),
        ("PGSSLMODE", "verify-ca"),
        ("PGSSLROOTCERT", "/env/ca.pem"),
        ("USER", "osuser"),
    ]);
    let dsn = parse_with_env("", &vars).unwrap();
    assert_eq!(
        (dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()),
        ("envhost", 6000, "envuser", "envdb")
    );
    assert_eq!(dsn.tls, TlsOptions { mode: SslMode::VerifyCa, root_cert: Some(PathBuf::from("/env/ca.pem")) });

    let dsn = parse_with_env("host=h port=1 user=u dbname=d sslmode=disable sslrootcert=/ca.pem", &vars).unwrap();
    assert_eq!((dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()), ("h", 1, "u", "d"));
    assert_eq!(dsn.tls, TlsOptions { mode: SslMode::Disable, root_cert: Some(PathBuf::from("/ca.pem")) });

    // Empty values count as missing, in the string and in the environment.
    let dsn = parse_with_env("host='' user=''", &vars).unwrap();
    assert_eq!((dsn.host.as_str(), dsn.user.as_str()), ("envhost", "envuser"));
    let dsn = parse_with_env("", env(&[("PGHOST", ""), ("USER", "osuser")])).unwrap();
    assert_eq!(dsn.host, "localhost");
}

#[test]
fn built_in_defaults() {
    let dsn = parse_with_env("", env(&[("LOGNAME", "logname")])).unwrap();
    assert_eq!(
        (dsn.host.as_str(), dsn.port, dsn.user.as_str(), dsn.dbname.as_str()),
        ("localhost", 5432, "logname", "logname")
    );
    assert_eq!(dsn.tls, TlsOptions::default());
    assert_eq!(dsn.config.get_ssl_mode(), tokio_postgres::config::SslMode::Prefer);
    // The user given in the string is also the default database.
    let dsn = parse_with_env("user=alice", env(&[("PGUSER", "bob")])).unwrap();
    assert_eq!(dsn.dbname, "alice");
    assert!(parse_inner("host=h", env(&[]), || None).unwrap_err().contains("no user name"));
    let dsn = parse_inner("host=h", env(&[]), || Some("fromfile".to_string())).unwrap();
    assert_eq!(dsn.user, "fromfile");
    let dsn = parse_inner("host=h", env(&[("USER", "fromenv")]), || Some("fromfile".to_string())).unwrap();
    assert_eq!(dsn.user, "fromenv");
}

#[test]
fn sslmode_mapping() {
    use tokio_postgres::config::SslMode as T;
    for (text, ours, theirs) in [
        ("disable", SslMode::Disable, T::Disable),
        ("allow", SslMode::Allow, T::Prefer),
        ("prefer", SslMode::Prefer, T::Prefer),
        ("require", SslMode::Require, T::Require),
        ("verify-ca", SslMode::VerifyCa, T::Require),
        ("verify-full", SslMode::VerifyFull, T::Require),
    ] {
        let dsn = bare(&format!("host=h sslmode={text}")).unwrap();
        assert_eq!(dsn.tls.mode, ours, "{text}");
        assert_eq!(dsn.config.get_ssl_mode(), theirs, "{text}");
        assert!(dsn.masked().contains(&format!("sslmode={text}")));
    }
    let err = bare("host=h sslmode=verify_full").unwrap_err();
    assert!(err.contains("`sslmode`: `verify_full`") && err.contains("verify-full"), "{err}");
    let err = parse_with_env("host=h", env(&[("USER", "u"), ("PGSSLMODE", "strict")])).unwrap_err();
    assert!(err.contains("PGSSLMODE"), "{err}");
}

#[test]
fn system_roots_and_direct_negotiation_need_strong_modes() {
    let dsn = bare("host=h sslrootcert=system").unwrap();
    assert_eq!(dsn.tls.mode, SslMode::VerifyFull);
    assert!(bare("host=h sslrootcert=system sslmode=require").unwrap_err().contains("sslrootcert=system"));
    let dsn = bare("host=h sslnegotiation=direct sslmode=require").unwrap();
    assert_eq!(dsn.config.get_ssl_negotiation(), SslNegotiation::Direct);
    assert!(bare("host=h sslnegotiation=direct").unwrap_err().contains("sslnegotiation=direct"));
}
