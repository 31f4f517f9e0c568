//! Connecting to a MongoDB endpoint: a driver client built from the
//! endpoint's uri, its password set apart from the uri, `appName` `cutover`
//! unless the uri gives one, and [`CONNECT_TIMEOUT`] both to connect and to
//! find a server, so an unreachable server shows as unreachable quickly. The
//! driver pools and reconnects by itself: build the client once and keep it.

use mongodb::options::ClientOptions;

use super::CONNECT_TIMEOUT;
use crate::inventory::MongoUri;

/// An endpoint's driver client.
pub struct Client {
    pub driver: mongodb::Client,
    /// The uri says `directConnection=true`: the client talks to one member, not the set.
    pub direct: bool,
}

/// A client for `uri`; `max_pool_size`: connections it may hold at once
/// (`None`: the driver's default).
///
/// # Errors
/// The driver refuses the uri (or cannot resolve an SRV name): its message,
/// as [`short_error`] gives it.
pub async fn client(uri: &MongoUri, max_pool_size: Option<u32>) -> Result<Client, String> {
    let mut options = options(uri).await?;
    if max_pool_size.is_some() {
        options.max_pool_size = max_pool_size;
    }
    let direct = options.direct_connection == Some(true);
    let driver = mongodb::Client::with_options(options).map_err(|e| short_error(&e))?;
    Ok(Client { driver, direct })
}

/// Driver options: the uri's own, the password set apart, the timeouts.
async fn options(uri: &MongoUri) -> Result<ClientOptions, String> {
    let mut options = ClientOptions::parse(uri.without_password()).await.map_err(|e| short_error(&e))?;
    if let Some(password) = uri.password() {
        let credential = options.credential.get_or_insert_with(Default::default);
        credential.password = Some(password.to_owned());
        if credential.username.is_none() {
            credential.username.clone_from(&uri.user);
        }
    }
    options.app_name.get_or_insert_with(|| "cutover".to_owned());
    options.connect_timeout = Some(CONNECT_TIMEOUT);
    options.server_selection_timeout = Some(CONNECT_TIMEOUT);
    Ok(options)
}

/// A driver error as one line: the server's message and code when it sent one.
#[must_use]
pub fn short_error(error: &mongodb::error::Error) -> String {
    use mongodb::error::ErrorKind;
    match error.kind.as_ref() {
        ErrorKind::Command(c) => format!("{} ({})", c.message, c.code_name),
        ErrorKind::ServerSelection { .. } => "no server answers (server selection timed out)".to_owned(),
        _ => error.to_string().lines().next().unwrap_or_default().to_owned(),
    }
}

/// The server's error code, when it sent one.
#[must_use]
pub fn error_code(error: &mongodb::error::Error) -> Option<i32> {
    match error.kind.as_ref() {
        mongodb::error::ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_password_is_set_apart_and_the_timeouts_are_the_endpoints() {
        let uri = crate::inventory::mongo_uri::parse("mongodb://ops:s%40cret@127.0.0.1:1/app?appName=mine").unwrap();
        let options = options(&uri).await.unwrap();
        let credential = options.credential.clone().unwrap();
        assert_eq!((credential.username.as_deref(), credential.password.as_deref()), (Some("ops"), Some("s@cret")));
        assert_eq!(options.app_name.as_deref(), Some("mine"));
        assert_eq!(options.connect_timeout, Some(CONNECT_TIMEOUT));
        assert_eq!(options.server_selection_timeout, Some(CONNECT_TIMEOUT));
        let direct = crate::inventory::mongo_uri::parse("mongodb://127.0.0.1:1/?directConnection=true").unwrap();
        assert!(client(&direct, Some(4)).await.unwrap().direct);
        assert!(!client(&uri, None).await.unwrap().direct);
    }
}
