//! The two spellings of a connection string, each read into its `key=value`
//! pairs in order (what the pairs mean is the parent's business), and the
//! quoting that writes a value back in the `key=value` spelling.

/// Quote a value for the `key=value` form when it needs it.
pub(super) fn quote(value: &str) -> String {
    if !value.is_empty() && !value.chars().any(|c| c.is_whitespace() || c == '\'' || c == '\\') {
        return value.to_string();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// The `key=value` spelling: whitespace-separated pairs, values optionally
/// single-quoted, backslash escapes in both quoted and bare values.
pub(super) fn keyword_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut chars = text.chars().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|&c| !c.is_whitespace() && c != '=') {
            key.push(c);
        }
        skip_ws(&mut chars);
        if chars.next_if_eq(&'=').is_none() {
            let after_password = pairs.last().is_some_and(|(k, _)| k == "password");
            return Err(if after_password {
                // The stray word is probably the rest of the password.
                "expected key=value after the password (quote values containing spaces: password='…')".to_string()
            } else if pairs.is_empty() && !text.contains('=') {
                "expected key=value pairs (host=… dbname=…) or a postgres:// URL".to_string()
            } else {
                format!("expected `=` after `{key}`")
            });
        }
        if key.is_empty() {
            return Err("a `=` without a key before it".to_string());
        }
        skip_ws(&mut chars);
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated quoted value for `{key}`")),
                    Some('\'') => break,
                    Some('\\') => {
                        if let Some(c) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(c) = chars.next() {
                        value.push(c);
                    }
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err(format!("missing value for `{key}` (an empty value is written {key}='')"));
            }
        }
        pairs.push((key, value));
    }
}

/// The URL spelling, after `postgres://`:
/// `[user[:password]@][host][:port][/dbname][?key=value&…]`.
pub(super) fn url_pairs(rest: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let (before, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match before.find('/') {
        Some(at) => (&before[..at], Some(&before[at + 1..])),
        None => (before, None),
    };
    if path.is_some_and(|path| path.contains('@')) {
        return Err("the URL has an `@` after the host: percent-encode `/`, `?` and `@` in the user name or password (%2F, %3F, %40)".to_string());
    }
    let hostport = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            pairs.push(("user".to_string(), decode("user", user)?));
            if let Some(password) = password {
                pairs.push(("password".to_string(), decode("password", password)?));
            }
            hostport
        }
        None => authority,
    };
    if hostport.contains(',') {
        return Err("the URL lists several hosts; cutover needs one host per endpoint".to_string());
    }
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) =
            bracketed.split_once(']').ok_or_else(|| format!("`host`: `{hostport}` has no closing `]`"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("`host`: unexpected `{after}` after `[{host}]`")),
            },
        }
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    pairs.push(("host".to_string(), decode("host", host)?));
    if let Some(port) = port {
        pairs.push(("port".to_string(), decode("port", port)?));
    }
    if let Some(path) = path {
        pairs.push(("dbname".to_string(), decode("dbname", path)?));
    }
    for item in query.unwrap_or("").split('&').filter(|item| !item.is_empty()) {
        let (key, value) = item.split_once('=').ok_or_else(|| {
            // Shown only if it looks like a key: it could be a stray part of a password.
            if item.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                format!("URL parameter `{item}` has no value (expected key=value)")
            } else {
                "a URL parameter has no value (expected key=value; percent-encode `?`, `/` and `@` in a password)"
                    .to_string()
            }
        })?;
        let key = decode("a URL parameter name", key)?;
        let value = decode(&key, value)?;
        // libpq's JDBC-compatible spelling.
        if key == "ssl" && value == "true" {
            pairs.push(("sslmode".to_string(), "require".to_string()));
        } else {
            pairs.push((key, value));
        }
    }
    Ok(pairs)
}

/// Percent-decode a URL part into UTF-8; the message never shows the text.
fn decode(what: &str, text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            match byte {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    return Err(format!(
                        "bad percent-encoding in the URL's `{what}` (a `%` must be followed by two hex digits)"
                    ));
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("the URL's `{what}` is not UTF-8 once percent-decoded"))
}
